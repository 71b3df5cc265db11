// Package checkpoint loads model weights from any supported file format
// into one plain form: an ordered list of named tensors whose values are
// read, converted to float32, when asked for. Open reads only the file's
// index (names, shapes, element types); Tensor.ReadInto decodes one tensor
// straight from the file into the caller's storage.
//
// Open tells the format from the file's first bytes, not its name:
//
//   - safetensors (package safetensors);
//   - a PyTorch zip: a torch.save state dict or a TorchScript archive such
//     as OpenAI's released CLIP .pt files (package torchpt).
//
// Names are kept as the file spells them. The caller normalises them:
// TrimPrefix removes wrappers such as "module.", and FromHF renames a
// Hugging Face transformers CLIPModel to OpenAI's names, merging the
// separate q/k/v projections and transposing the output projections.
// TorchScript CLIP archives also carry the int64 scalars input_resolution,
// context_length and vocab_size, which the reference loader drops.
package checkpoint
