// Package augment implements the image transforms of the paper's data
// pipelines — torchvision's transforms on PIL images and timm's
// RandAugment — on 8-bit RGB images (*image.RGBA, opaque), equal to PIL's
// and torchvision's results pixel for pixel.
//
// Every transform is a [Transform]: Apply(img, r) draws whatever it needs
// from the *rand.Rand r, so a pipeline is deterministic for a given
// source, and never modifies its input. [Compose] chains transforms; [Apply]
// first converts any image.Image to RGB as torchvision's loader does.
// Normalisation to a CHW float32 tensor with CLIP's mean and standard
// deviation is vlp.NormalizeImage; the data loader applies it.
//
// [ForBenchmark] returns a benchmark's training, test and FixMatch strong
// transforms (spec §2.4 and §1.6) for any input size.
//
// # How close to PIL and torchvision
//
// testdata/golden.py runs PIL 9.4 and torchvision 0.14 on small synthetic
// images; TestGolden requires equal bytes for every case: bilinear resize
// (both forms of Resize, and RandomResizedCrop's crop-then-resize), crops,
// flip, pad, nearest rotation, brightness, contrast, saturation and hue,
// and all fifteen RandAugment operations at several magnitudes, with both
// signs and both filters. The random draws cannot match torch's or
// Python's generators; their distributions do (the algorithm, the order of
// draws within a transform, the bounds).
//
// # Files
//
//	transform.go    Transform, Compose, Apply
//	geometry.go     Resize, ResizeShorter, CenterCrop, RandomCrop, RandomResizedCrop,
//	                HorizontalFlip, Pad, RandomRotation, Crop, FlipHorizontal
//	affine.go       Affine, Rotate: PIL's affine warps (nearest, bilinear, bicubic)
//	color.go        AutoContrast, Equalize, Invert, Posterize, Solarize, SolarizeAdd,
//	                Brightness, Color, Contrast, Sharpness, AdjustHue
//	jitter.go       ColorJitter
//	randaugment.go  RandAugment, ParseRandAugment, ShearX/Y, TranslateX/YRel
//	recipe.go       Recipe, ForBenchmark, USPSTrain
package augment
