// Package vlp holds CLIP on the vlpuda engine.
//
//	config.go      Config (the reference constructor's arguments), InferConfig, the released models' configs
//	clip.go        the CLIP model: towers, EncodeImage, EncodeText, Logits
//	tower.go       NewImageEncoder, an image tower alone
//	load.go        Load from any supported checkpoint format
//	save.go        Save vlpuda's own safetensors checkpoints (config in the metadata)
//	encode.go      EncodeFile: features and logits of a safetensors file of inputs
//	summary.go     Inspect: what a checkpoint holds
//	decode.go      ReadImage and friends: JPEG, PNG, GIF, BMP, TIFF, WebP, Netpbm, by content
//	jpeg.go, webp.go, netpbm.go  decoding details that make pixels equal libjpeg's and libwebp's
//	resize.go      PIL-exact bicubic resizing
//	preprocess.go  CLIP preprocessing: RGB, resize, crop, normalise, batch
//	zeroshot.go    the zero-shot classifier from prompt templates
//
// The checkpoint readers live in the packages beside this one:
// vlp/checkpoint (format sniffing, Hugging Face names), vlp/safetensors,
// vlp/torchpt (PyTorch zip archives) and vlp/pickle (a restricted
// unpickler); element types and the fp16/bf16 conversions are in
// tensor/dtype. The tokenizer is vlp/tokenizer.
package vlp
