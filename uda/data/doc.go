// Package data lists the labelled image files of a domain: the ImageFolder
// layout torchvision reads (root/<class>/.../<image>) and the image-list
// files of the Transfer-Learning-Library (tllib), one "path label" per
// line. A Dataset holds paths, labels and class names; images are decoded
// only when asked for, with vlp.ReadImage.
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
package data
