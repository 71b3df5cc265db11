"""Writes golden.json: small synthetic images passed through PIL and
torchvision, for TestGolden in golden_test.go.

Run with Debian's python3-pil (9.4) and python3-torchvision (0.14):

    /usr/bin/python3 golden.py > golden.json

Every case holds the input's name, the operation and its arguments, and
the output's width, height and RGB bytes (base64). The RandAugment
operations ("ra:" cases) are computed from a magnitude with the level
functions of timm's auto_augment.py as the paper's code vendors them
(utils/randaugment.py), so the Go test checks the levels too.
"""

import base64
import json
import sys

import numpy as np
import PIL
from PIL import Image, ImageEnhance, ImageOps
import torchvision.transforms.functional as F

FILL = (123, 117, 104)  # CLIP mean x 255, rounded: utils/FixMatch.py's img_mean
FILTERS = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC, "nearest": Image.NEAREST}


def inputs():
    rs = np.random.RandomState(7)
    out = {}
    # A smooth gradient with noise: resampling and geometry.
    y, x = np.mgrid[0:30, 0:40]
    g = np.stack([x * 6, y * 8, (x + y) * 3], -1) + rs.randint(-20, 21, (30, 40, 3))
    out["gradient"] = np.clip(g, 0, 255).astype(np.uint8)
    # Uniform noise: colour operations see every value.
    out["noise"] = rs.randint(0, 256, (16, 23, 3)).astype(np.uint8)
    # A narrow range with few values: autocontrast and equalize.
    out["narrow"] = rs.randint(60, 141, (13, 19, 3)).astype(np.uint8)
    # Mostly one value: equalize's step and solarize's edges.
    n = np.full((9, 11, 3), 200, np.uint8)
    n[2:5, 3:7] = rs.randint(0, 256, (3, 4, 3))
    out["flat"] = n
    return {k: Image.fromarray(v, "RGB") for k, v in out.items()}


# timm's level functions (auto_augment.py), magnitude in [0, 10].
def level(op, m):
    if op == "Rotate":
        return (m / 10.0) * 30.0
    if op in ("ShearX", "ShearY"):
        return (m / 10.0) * 0.3
    if op in ("TranslateXRel", "TranslateYRel"):
        return (m / 10.0) * 0.45
    if op == "PosterizeTpu":
        return int((m / 10.0) * 4)
    if op == "Solarize":
        return int((m / 10.0) * 256)
    if op == "SolarizeAdd":
        return int((m / 10.0) * 110)
    if op in ("Color", "Contrast", "Brightness", "Sharpness"):
        return (m / 10.0) * 1.8 + 0.1
    return None


def rand_op(img, op, m, negate, interp):
    v = level(op, m)
    if negate:
        v = -v
    kw = dict(resample=FILTERS[interp], fillcolor=FILL)
    if op == "AutoContrast":
        return ImageOps.autocontrast(img)
    if op == "Equalize":
        return ImageOps.equalize(img)
    if op == "Invert":
        return ImageOps.invert(img)
    if op == "Rotate":
        return img.rotate(v, **kw)
    if op == "PosterizeTpu":
        return img if v >= 8 else ImageOps.posterize(img, v)
    if op == "Solarize":
        return ImageOps.solarize(img, v)
    if op == "SolarizeAdd":
        table = [min(255, i + v) if i < 128 else i for i in range(256)]
        return img.point(table * 3)
    if op == "Color":
        return ImageEnhance.Color(img).enhance(v)
    if op == "Contrast":
        return ImageEnhance.Contrast(img).enhance(v)
    if op == "Brightness":
        return ImageEnhance.Brightness(img).enhance(v)
    if op == "Sharpness":
        return ImageEnhance.Sharpness(img).enhance(v)
    if op == "ShearX":
        return img.transform(img.size, Image.AFFINE, (1, v, 0, 0, 1, 0), **kw)
    if op == "ShearY":
        return img.transform(img.size, Image.AFFINE, (1, 0, 0, v, 1, 0), **kw)
    if op == "TranslateXRel":
        return img.transform(img.size, Image.AFFINE, (1, 0, v * img.size[0], 0, 1, 0), **kw)
    if op == "TranslateYRel":
        return img.transform(img.size, Image.AFFINE, (1, 0, 0, 0, 1, v * img.size[1]), **kw)
    raise ValueError(op)


def main():
    imgs = inputs()
    cases = []

    def add(name, inp, op, args, out):
        assert out.mode == "RGB", out.mode
        cases.append(dict(name=name, input=inp, op=op, args=args, width=out.size[0], height=out.size[1],
                          pix=base64.b64encode(out.tobytes()).decode()))

    # torchvision transforms on PIL images, deterministic ones.
    for inp, w, h in [("gradient", 20, 20), ("gradient", 25, 40), ("gradient", 40, 12), ("gradient", 11, 30),
                      ("noise", 50, 37), ("noise", 7, 5), ("narrow", 19, 40)]:
        add(f"resize {inp} {w}x{h}", inp, "resize", dict(w=w, h=h), F.resize(imgs[inp], [h, w]))
    for inp, s in [("gradient", 20), ("gradient", 100), ("noise", 9)]:
        add(f"resize shorter {inp} {s}", inp, "resize_shorter", dict(size=s), F.resize(imgs[inp], s))
    for inp, w, h in [("gradient", 19, 19), ("noise", 10, 10), ("noise", 30, 20)]:
        add(f"center crop {inp} {w}x{h}", inp, "center_crop", dict(w=w, h=h), F.center_crop(imgs[inp], [h, w]))
    add("crop", "gradient", "crop", dict(left=5, top=3, w=20, h=21), F.crop(imgs["gradient"], 3, 5, 21, 20))
    add("resized crop", "gradient", "resized_crop", dict(left=5, top=3, w=31, h=22, size=24),
        F.resized_crop(imgs["gradient"], 3, 5, 22, 31, [24, 24]))
    add("flip", "noise", "hflip", {}, F.hflip(imgs["noise"]))
    add("pad", "noise", "pad", dict(n=4), F.pad(imgs["noise"], 4))
    for deg in [10.0, -4.25, 7.0]:
        add(f"rotation nearest {deg}", "gradient", "rotate_nearest", dict(degrees=deg),
            F.rotate(imgs["gradient"], deg, interpolation=F.InterpolationMode.NEAREST))
    for m, interp in [((1, 0, 3.7, 0, 1, -2.2), "nearest"), ((0.8, 0, 1.5, 0, 1.3, -4), "nearest"),
                      ((1, 0.25, -3, -0.1, 1, 2), "nearest"), ((0.9, 0.2, 1, -0.3, 1.1, 0.5), "bicubic")]:
        add(f"affine {interp} {m}", "gradient", "affine", dict(matrix=m, interp=interp),
            imgs["gradient"].transform(imgs["gradient"].size, Image.AFFINE, m, resample=FILTERS[interp], fillcolor=FILL))
    for f in [0.6, 1.0, 1.4]:
        add(f"brightness {f}", "noise", "brightness", dict(factor=f), F.adjust_brightness(imgs["noise"], f))
        add(f"contrast {f}", "noise", "contrast", dict(factor=f), F.adjust_contrast(imgs["noise"], f))
        add(f"saturation {f}", "noise", "saturation", dict(factor=f), F.adjust_saturation(imgs["noise"], f))
    for f in [-0.5, -0.21, 0.0, 0.1, 0.37, 0.5]:
        add(f"hue {f}", "noise", "hue", dict(factor=f), F.adjust_hue(imgs["noise"], f))

    # RandAugment's operations at fixed magnitudes.
    for op in ["AutoContrast", "Equalize", "Invert"]:
        for inp in ["noise", "narrow", "flat", "gradient"]:
            add(f"ra {op} {inp}", inp, "ra:" + op, dict(m=10.0, negate=False, interp="bilinear"),
                rand_op(imgs[inp], op, 10.0, False, "bilinear"))
    for op in ["PosterizeTpu", "Solarize", "SolarizeAdd", "Color", "Contrast", "Brightness", "Sharpness"]:
        for m in [0.0, 2.5, 5.3, 7.5, 9.61, 10.0]:
            for inp in ["noise", "flat"]:
                add(f"ra {op} m{m} {inp}", inp, "ra:" + op, dict(m=m, negate=False, interp="bilinear"),
                    rand_op(imgs[inp], op, m, False, "bilinear"))
    for op in ["Rotate", "ShearX", "ShearY", "TranslateXRel", "TranslateYRel"]:
        for m, negate in [(10.0, False), (10.0, True), (6.2, False), (3.3, True), (0.0, False)]:
            for interp in ["bilinear", "bicubic"]:
                for inp in ["gradient", "noise"]:
                    add(f"ra {op} m{m} neg={negate} {interp} {inp}", inp, "ra:" + op,
                        dict(m=m, negate=negate, interp=interp), rand_op(imgs[inp], op, m, negate, interp))

    json.dump(dict(
        generator="golden.py", pil=PIL.__version__,
        inputs={k: dict(width=v.size[0], height=v.size[1], pix=base64.b64encode(v.tobytes()).decode())
                for k, v in imgs.items()},
        fill=FILL, cases=cases), sys.stdout, indent=0)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
