#!/usr/bin/python3
"""Export the CLIP image towers of bench/pytorch/clip_bench.py to ONNX.

For each model (vit-b32, vit-b16, rn50) it builds the tower that
clip_bench.py times, with the same random weights (torch.manual_seed(1)),
in eval mode, and writes to --out:

    MODEL.onnx                  the tower, opset 14, input "images"
                                (batch, 3, 224, 224), output "features"
                                (batch, embed), the batch axis dynamic
    MODEL.check.safetensors     the same weights as an OpenAI CLIP state
                                dict, with a tiny random text tower so that
                                `vlpuda encode` loads it
    MODEL.check.json            the -config for that file
    MODEL.inputs.safetensors    two random images ("images"), for vlpuda
    MODEL.input.f32             the same images, raw little-endian float32
    MODEL.torch.f32             PyTorch's features of those images

A model whose files all exist is skipped (delete them to export again).
The exporter is torch.onnx.export's TorchScript one, which Debian's
python3-torch (1.13) has without the onnx Python module.

clip_bench.py's RN50 attention pool applies nn.MultiheadAttention's
out_proj and then c_proj, where OpenAI's applies c_proj alone; the state
dict for vlpuda holds the two folded into one (c_proj·out_proj), which
computes the same function.

Usage: /usr/bin/python3 bench/ort/export.py [--out bench/ort/models] [--models vit-b32,vit-b16,rn50]
"""
import argparse
import json
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pytorch"))
import clip_bench  # noqa: E402

RESOLUTION = 224
CHECK_IMAGES = 2
# The text tower in the check file: as small as vlpuda's config allows. Only
# the image features are compared.
TEXT = {"context_length": 2, "vocab_size": 8, "transformer_width": 64,
        "transformer_heads": 1, "transformer_layers": 1}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "models"))
    p.add_argument("--models", default=",".join(clip_bench.MODELS))
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for model in a.models.split(","):
        if model not in clip_bench.MODELS:
            sys.exit("export.py: unknown model %r (want %s)" % (model, ", ".join(clip_bench.MODELS)))
        paths = {k: os.path.join(a.out, model + suffix) for k, suffix in [
            ("onnx", ".onnx"), ("check", ".check.safetensors"), ("config", ".check.json"),
            ("inputs", ".inputs.safetensors"), ("input", ".input.f32"), ("torch", ".torch.f32")]}
        if all(os.path.exists(p) for p in paths.values()):
            print("export.py: %s: cached in %s" % (model, a.out), flush=True)
            continue
        export(model, paths)


def export(model, paths):
    import torch
    torch.manual_seed(1)  # the weights clip_bench.py times
    net = clip_bench.build(model).eval()
    gen = torch.Generator().manual_seed(2)
    images = torch.randn(CHECK_IMAGES, 3, RESOLUTION, RESOLUTION, generator=gen)
    with torch.no_grad():
        features = net(images)
    # With gradients on, nn.MultiheadAttention takes its exportable path, not
    # the fused _native_multi_head_attention that opset 14 lacks.
    torch.onnx.export(net, images, tmp(paths["onnx"]), opset_version=14,
                      input_names=["images"], output_names=["features"],
                      dynamic_axes={"images": {0: "batch"}, "features": {0: "batch"}})
    os.replace(tmp(paths["onnx"]), paths["onnx"])
    sd, cfg = openai_state_dict(model, net, features.shape[1])
    write_safetensors(paths["check"], sd)
    write_file(paths["config"], json.dumps(cfg, indent=1).encode() + b"\n")
    write_safetensors(paths["inputs"], {"images": images})
    write_file(paths["input"], f32_bytes(images))
    write_file(paths["torch"], f32_bytes(features))
    print("export.py: %s: wrote %s" % (model, paths["onnx"]), flush=True)


def openai_state_dict(model, net, embed):
    """Returns net's weights under OpenAI's CLIP names, with a tiny text
    tower, and the CLIP constructor arguments that describe them."""
    import torch
    sd = {}
    if model == "rn50":
        layers = vision_rn50(net, sd)
        cfg = {"vision_layers": layers, "vision_width": 64, "vision_patch_size": None}
    else:
        vision_vit(net, sd)
        cfg = {"vision_layers": len(net.blocks), "vision_width": net.conv1.out_channels,
               "vision_patch_size": net.conv1.kernel_size[0]}
    cfg.update(embed_dim=embed, image_resolution=RESOLUTION, **TEXT)
    gen = torch.Generator().manual_seed(3)
    w = TEXT["transformer_width"]
    text = {"token_embedding.weight": (TEXT["vocab_size"], w),
            "positional_embedding": (TEXT["context_length"], w),
            "ln_final.weight": (w,), "ln_final.bias": (w,), "text_projection": (w, embed),
            "logit_scale": ()}
    for i in range(TEXT["transformer_layers"]):
        b = "transformer.resblocks.%d." % i
        text.update({b + "attn.in_proj_weight": (3 * w, w), b + "attn.in_proj_bias": (3 * w,),
                     b + "attn.out_proj.weight": (w, w), b + "attn.out_proj.bias": (w,),
                     b + "ln_1.weight": (w,), b + "ln_1.bias": (w,),
                     b + "mlp.c_fc.weight": (4 * w, w), b + "mlp.c_fc.bias": (4 * w,),
                     b + "mlp.c_proj.weight": (w, 4 * w), b + "mlp.c_proj.bias": (w,),
                     b + "ln_2.weight": (w,), b + "ln_2.bias": (w,)})
    for name, shape in text.items():
        sd[name] = torch.randn(shape, generator=gen) * 0.02
    return sd, cfg


def vision_vit(net, sd):
    v = "visual."
    sd[v + "conv1.weight"] = net.conv1.weight
    sd[v + "class_embedding"] = net.cls
    sd[v + "positional_embedding"] = net.pos
    sd[v + "proj"] = net.proj
    for name in ("ln_pre", "ln_post"):
        put_module(sd, v + name, getattr(net, name))
    for i, blk in enumerate(net.blocks):
        b = v + "transformer.resblocks.%d." % i
        put_attention(sd, b + "attn", blk.attn)
        put_module(sd, b + "ln_1", blk.ln_1)
        put_module(sd, b + "ln_2", blk.ln_2)
        put_module(sd, b + "mlp.c_fc", blk.mlp[0])
        put_module(sd, b + "mlp.c_proj", blk.mlp[2])


def vision_rn50(net, sd):
    v = "visual."
    for i, j in enumerate((0, 3, 6)):  # the stem's convolutions and batch norms
        put_module(sd, v + "conv%d" % (i + 1), net.stem[j])
        put_module(sd, v + "bn%d" % (i + 1), net.stem[j + 1])
    stage, index, counts = 0, 0, [0, 0, 0, 0]
    width = net.layers[0].conv1.out_channels
    for blk in net.layers:
        s = (blk.conv1.out_channels // width).bit_length() - 1
        if s != stage:
            stage, index = s, 0
        b = v + "layer%d.%d." % (stage + 1, index)
        for name in ("conv1", "bn1", "conv2", "bn2", "conv3", "bn3"):
            put_module(sd, b + name, getattr(blk, name))
        if blk.down is not None:
            put_module(sd, b + "downsample.0", blk.down[1])
            put_module(sd, b + "downsample.1", blk.down[2])
        index += 1
        counts[stage] = index
    pool = net.attnpool
    a = v + "attnpool."
    sd[a + "positional_embedding"] = pool.pos
    d = pool.attn.embed_dim
    w, bias = pool.attn.in_proj_weight, pool.attn.in_proj_bias
    for k, name in enumerate(("q_proj", "k_proj", "v_proj")):
        sd[a + name + ".weight"] = w[k * d:(k + 1) * d]
        sd[a + name + ".bias"] = bias[k * d:(k + 1) * d]
    out, proj = pool.attn.out_proj, pool.c_proj
    sd[a + "c_proj.weight"] = proj.weight.double() @ out.weight.double()
    sd[a + "c_proj.bias"] = proj.weight.double() @ out.bias.double() + proj.bias.double()
    return counts


def put_module(sd, prefix, mod):
    for name, t in mod.state_dict().items():
        sd[prefix + "." + name] = t


def put_attention(sd, prefix, attn):
    sd[prefix + ".in_proj_weight"] = attn.in_proj_weight
    sd[prefix + ".in_proj_bias"] = attn.in_proj_bias
    put_module(sd, prefix + ".out_proj", attn.out_proj)


def f32_bytes(t):
    import torch
    return t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()


def write_safetensors(path, tensors):
    """Writes float32 tensors (int64 ones as I64) in the safetensors format."""
    import torch
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        if t.dtype == torch.int64:
            dtype, data = "I64", t.numpy().astype("<i8").tobytes()
        else:
            dtype, data = "F32", f32_bytes(t)
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    write_file(path, struct.pack("<Q", len(h)) + h + b"".join(blobs))


def tmp(path):
    return path + ".tmp"


def write_file(path, data):
    """Writes data to path through a temporary file, so that path is
    complete or absent."""
    with open(tmp(path), "wb") as f:
        f.write(data)
    os.replace(tmp(path), path)


if __name__ == "__main__":
    main()
