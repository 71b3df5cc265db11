// Package pretrain trains vlpuda's own small CLIP, the teacher of the
// packaged digits benchmark, and gates it before it is published.
//
// # Corpus
//
// [Corpus] is an endless, deterministic stream of image–caption pairs: a
// character (a digit, a letter or a symbol) rendered from a font face in a
// colour, size, rotation and stroke weight, over a background (plain
// black, a flat colour, a two-colour gradient, or a softened crop of a
// [digits.CorpusPool] photo), with a caption that always names the
// character:
//
//	a photo of the number: "7".
//	the letter "k"
//	a photo of the symbol: "%" in red on a blue background.
//
// Sample i depends only on the seed, the stream and i. Digits are
// [CorpusOptions.DigitShare] of the samples (45 % by default), since the
// demo's zero-shot prompt is `a photo of the number: "{d}".`; letters are
// case-folded (the CLIP tokenizer lower-cases every text), and the letters
// i, l, o are left out because they are drawn like 1 and 0 in many faces.
//
// Curriculum: captions name only the character until sample
// AttrFrom·Steps·Batch of training ([Config.AttrFrom], 30 % by default);
// after that a minority ([Config.AttrShare], 20 %) also name the ink
// colour and the background. The PyTorch prototypes of the issue found
// that attribute-rich captions let the contrastive loss fall without
// learning glyph shape.
//
// # Preprocessing
//
// The model sees every image through [Standardize]: per-image
// standardisation over all three channels together,
//
//	x' = (x/255 − mean) / max(std, 1/√n),   n = 3·H·W,
//
// the definition of TensorFlow's per_image_standardization. Unlike CLIP's
// fixed mean and std it removes each image's brightness and contrast, so
// a glyph over any background reaches the network at the same scale. It is
// part of the model: [Save] records it in the checkpoint's metadata under
// [PreprocessKey], and every user of the teacher (the gate, the demo, the
// zero-shot head on the digit domains) must prepare images with
// [Standardize] or [ImageBatch].
//
// # Training and the gate
//
// [Train] optimises CLIP's symmetric contrastive loss ([ContrastiveLoss]),
// counting identical captions in a batch as positives of each other,
// with AdamW, a warm-up and cosine schedule, gradient clipping and the
// logit scale clamped at 100, and watches for collapse. [CheckTeacher]
// measures the three numbers a checkpoint must meet before it is
// published ([Gate]): zero-shot accuracy with [Prompt] on held-out renders
// (faces [HeldOutFaces], never seen in training, and a separate random
// stream) and on MNIST's held-out training images (digits.MNISTHeldOut,
// which no task of the demo trains or evaluates on; not MNIST test, the
// target of two of its tasks), and the largest cosine between two of the
// ten digit prompts. [SupervisedCheck] trains an image tower with a linear
// head on the corpus classes: the quick test that the corpus and the
// preprocessing let a network learn glyph shape at all.
//
// # Files in this package
//
//	chars.go       the character classes and caption templates
//	glyph.go       rasterising characters from font faces
//	corpus.go      Corpus: the image–caption stream
//	standardize.go Standardize, ImageBatch: the model's preprocessing
//	loss.go        ContrastiveLoss with soft targets for duplicate captions
//	model.go       the default architecture, Save with metadata
//	gate.go        Gate, CheckTeacher and the held-out sets
//	train.go       Train: the pretraining loop
//	supervised.go  SupervisedCheck: the image tower alone on the classes
package pretrain
