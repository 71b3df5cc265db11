// Package data lists the labelled image files of a domain: the ImageFolder
// layout torchvision reads (root/<class>/.../<image>) and the image-list
// files of the Transfer-Learning-Library (tllib), one "path label" per
// line. A Dataset holds paths, labels and class names; images are decoded
// only when asked for, with vlp.ReadImage.
//
// Presets know the benchmarks' domains (short codes, folder names,
// expected image counts) and check a download. Samplers choose the
// images of each batch — forever and shuffled for training, in order for
// evaluation — and a Loader decodes and augments them (package augment) in
// parallel into normalised tensors, the same batches for a seed whatever
// the number of workers.
//
// Labels number the classes in the order ImageFolder gives them, the
// folder names sorted by their bytes ("Bed" before "apple"). Everything
// downstream, the zero-shot prompts included, must use this order.
//
// # Files
//
//	dataset.go  Dataset, Sample, IsImageFile
//	folder.go   ImageFolder
//	list.go     ReadList
//	lists.go    ReadDomains, Dataset.WriteList, WriteClasses, ReadClasses
//	presets.go  Preset, Presets, LookupPreset, SameClasses, ClassNames
//	sampler.go  Sampler, RandomSampler, SequentialSampler, SamplerState
//	loader.go   Loader, LoaderConfig, Batch, Source, ErrorPolicy
package data
