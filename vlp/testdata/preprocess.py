#!/usr/bin/python3
"""Makes the golden data of vlp's preprocessing tests with PIL and torchvision.

Run from vlp/testdata with Debian's python3-pil and python3-torchvision
(PIL 9.4, torchvision 0.14 when this was written):

    /usr/bin/python3 preprocess.py

It writes small synthetic images in several formats and modes into
preprocess/ and, into preprocess.safetensors, what the reference pipeline
makes of each: the image loaded as torchvision's ImageFolder does (PIL
Image.open, then convert("RGB")), then

  crop:   Resize(S, BICUBIC) + CenterCrop(S)   (clip._transform)
  squash: Resize([S, S], BICUBIC)               (the paper's test transform)

stored as uint8 HWC tensors "<file>/<transform>/<S>", and for a few cases
also after ToTensor + Normalize with CLIP's mean and std as float32 CHW
tensors "<file>/<transform>/<S>/normalized". The safetensors metadata
"cases" lists every case as JSON. For JPEG files it also stores the decoded
pixels ("<file>/decoded"): Go's and libjpeg's inverse DCTs differ slightly,
so the test bounds the JPEG differences instead of requiring equality.
"""

import io
import json
import os
import shutil
import struct
import subprocess

import numpy as np
import torch
from PIL import Image
from torchvision.datasets.folder import pil_loader
from torchvision.transforms import (CenterCrop, Compose, InterpolationMode,
                                    Normalize, Resize, ToTensor)

MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)
BICUBIC = InterpolationMode.BICUBIC

rng = np.random.RandomState(20240803)


def picture(w, h, channels=3, noise=24):
    """Smooth colour fields with sharp edges and noise, uint8 HxWxC."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    out = np.empty((h, w, channels))
    for c in range(channels):
        fx, fy, ph = rng.uniform(0.02, 0.3), rng.uniform(0.02, 0.3), rng.uniform(0, 6.3)
        v = 128 + 90 * np.sin(fx * x + ph) * np.cos(fy * y - ph)
        # A bright rectangle and a dark disc give edges that ring.
        x0, y0 = rng.randint(0, max(1, w // 2)), rng.randint(0, max(1, h // 2))
        v[y0:y0 + h // 3, x0:x0 + w // 3] = 250
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), min(w, h) / 4
        v[(x - cx) ** 2 + (y - cy) ** 2 < r * r] = 5
        v += rng.uniform(-noise, noise, size=v.shape)
        out[..., c] = v
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def save(name, im, **kw):
    im.save(os.path.join("preprocess", name), **kw)
    return name


def make_images():
    os.makedirs("preprocess", exist_ok=True)
    files = []
    files.append(save("landscape.png", Image.fromarray(picture(61, 37))))
    files.append(save("portrait.png", Image.fromarray(picture(23, 41))))
    files.append(save("narrow.png", Image.fromarray(picture(32, 35))))
    files.append(save("wide.png", Image.fromarray(picture(45, 32))))
    files.append(save("exact.png", Image.fromarray(picture(32, 32))))
    files.append(save("grey.png", Image.fromarray(picture(50, 50, 1)[..., 0], "L")))
    rgba = picture(40, 29, 4)
    rgba[:5, :, 3] = 0  # fully transparent rows keep their colour
    files.append(save("rgba.png", Image.fromarray(rgba, "RGBA")))
    files.append(save("la.png", Image.fromarray(picture(26, 31, 2), "LA")))
    pal = Image.fromarray(picture(33, 47)).quantize(colors=37, method=Image.Quantize.MEDIANCUT)
    files.append(save("palette.png", pal, transparency=3))
    files.append(save("bilevel.png", Image.fromarray(picture(27, 19, 1)[..., 0], "L").convert("1")))
    gif = Image.fromarray(picture(30, 20)).quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    files.append(save("palette.gif", gif, transparency=5))
    files.append(save("image.bmp", Image.fromarray(picture(37, 23))))
    files.append(save("image.tiff", Image.fromarray(picture(29, 33))))
    files.append(save("image.webp", Image.fromarray(picture(31, 27)), lossless=True))
    files.append(save("image.ppm", Image.fromarray(picture(21, 34))))
    files.append(save("image.pgm", Image.fromarray(picture(34, 21, 1)[..., 0], "L")))
    files.append(save("big.png", Image.fromarray(picture(260, 180, noise=3))))
    files.append(save("photo.jpg", Image.fromarray(picture(120, 90, noise=6)), quality=90))
    files.append(save("photo422.jpg", Image.fromarray(picture(61, 37, noise=6)), quality=90, subsampling=1))
    files.append(save("photo444.jpg", Image.fromarray(picture(37, 61, noise=6)), quality=90, subsampling=0))
    files.append(save("grey.jpg", Image.fromarray(picture(64, 48, 1, noise=6)[..., 0], "L"), quality=90))
    # Lossy WebP: 4:2:0 YCbCr that libwebp upsamples and converts.
    files.append(save("lossy.webp", Image.fromarray(picture(61, 37)), quality=80))
    files.append(save("lossy-even.webp", Image.fromarray(picture(48, 40)), quality=80))
    files.append(save("lossy-alpha.webp", Image.fromarray(picture(33, 26, 4), "RGBA"), quality=80))
    # JPEG files of Go's image/testdata (BSD licence, as Go): 4:4:0, 4:1:1
    # subsampling, and an Adobe CMYK file.
    goroot = subprocess.run(["go", "env", "GOROOT"], capture_output=True, text=True, check=True).stdout.strip()
    for name in GO_JPEGS:
        shutil.copyfile(os.path.join(goroot, "src", "image", "testdata", name), os.path.join("preprocess", name))
        files.append(name)
    return files


GO_JPEGS = ["video-001.q50.440.jpeg", "video-001.q50.411.jpeg",
            "video-001.cmyk.jpeg"]


def is_jpeg(name):
    return name.endswith((".jpg", ".jpeg"))


def transforms(size, kind):
    if kind == "crop":
        return [Resize(size, interpolation=BICUBIC), CenterCrop(size)]
    return [Resize([size, size], interpolation=BICUBIC)]


# (file, sizes, transforms that also get a normalised float tensor)
SIZES = {"big.png": [224, 32], "landscape.png": [32, 33], "portrait.png": [32, 7]}
NORMALIZED = {("landscape.png", "crop", 32), ("rgba.png", "squash", 32), ("big.png", "crop", 32)}


def main():
    os.chdir(os.path.dirname(os.path.abspath(__file__)))
    tensors, cases = [], []
    for name in make_images():
        img = pil_loader(os.path.join("preprocess", name))
        for size in SIZES.get(name, [32]):
            for kind in ("crop", "squash"):
                out = Compose(transforms(size, kind))(img)
                key = f"{name}/{kind}/{size}"
                tensors.append((key, "U8", np.asarray(out, dtype=np.uint8)))
                case = {"file": name, "transform": kind, "size": size, "key": key,
                        "exact": not is_jpeg(name)}
                if (name, kind, size) in NORMALIZED:
                    t = Compose(transforms(size, kind) + [ToTensor(), Normalize(MEAN, STD)])(img)
                    tensors.append((key + "/normalized", "F32", t.numpy().astype(np.float32)))
                    case["normalized"] = key + "/normalized"
                cases.append(case)
    # The decoded pixels of the JPEG files, to measure decoder differences
    # apart from resizing.
    for name in sorted(os.listdir("preprocess")):
        if is_jpeg(name):
            tensors.append((name + "/decoded", "U8", np.asarray(pil_loader(os.path.join("preprocess", name)))))
    write_safetensors("preprocess.safetensors", tensors, {
        "cases": json.dumps(cases),
        "made_with": f"PIL {Image.__version__}, torchvision {__import__('torchvision').__version__}, torch {torch.__version__}",
    })


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, dtype, arr in tensors:
        b = np.ascontiguousarray(arr).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


if __name__ == "__main__":
    main()
