// Package torchpt reads the tensors of PyTorch zip checkpoints without
// running any of their code.
//
// Two kinds of file are understood, both zip archives with one top-level
// folder (its name varies, so it is found, not assumed) holding data.pkl
// and the raw little-endian storages data/<key>:
//
//   - a torch.save file (PyTorch 1.6 and later): data.pkl is a dict,
//     usually an OrderedDict, from name to tensor. A checkpoint that nests
//     the weights under a "state_dict" key is read from there; other nested
//     dicts are flattened with dotted names. Prefixes such as "module." from
//     DataParallel are kept: stripping them is the caller's choice.
//   - a TorchScript archive such as OpenAI's released CLIP files: data.pkl
//     is the module tree, one __torch__.* object per module whose BUILD
//     state holds its parameters, buffers and submodules. Walking it and
//     joining attribute names with "." gives the module's state_dict() names
//     (visual.conv1.weight, ...).
//
// data.pkl is decoded by package pickle with this allow-list of globals,
// and any other global fails the read with an error that names it:
//
//	collections.OrderedDict
//	torch._utils._rebuild_tensor_v2, _rebuild_tensor,
//	    _rebuild_parameter, _rebuild_parameter_with_state
//	torch.{Float,Half,BFloat16,Double,Long,Int,Short,Char,Byte,Bool}Storage
//	__torch__.* classes (TorchScript modules, kept as plain objects)
//
// Persistent ids must be ('storage', storage type, key, location, numel).
// Open reads data.pkl alone and checks every tensor against its storage's
// entry; Archive.ReadFloat32 then reads one tensor at a time, converted to
// float32, into the caller's slice: a contiguous tensor is decoded as its
// entry streams by, any other view is gathered from its storage with its
// offset and strides. Read and ReadFile read every tensor. Tensor.DType
// keeps the stored element type.
//
// A hostile file cannot make Open or Read allocate far more than its own
// size: Open checks data.pkl before inflating it (at most MaxPickleSize
// bytes) and every storage entry before any is read (at most MaxInflation
// times its compressed size, 2³⁴ elements, and the size its storage
// declares, which reading holds it to), and the views that repeat storage
// elements (zero strides) hold at most 2²⁴ elements in all.
//
// The pre-1.6 torch.save format (a bare pickle stream, not a zip) is not
// supported.
package torchpt
