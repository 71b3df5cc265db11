// Command gen writes real-size CLIP checkpoints with random weights for the
// loading benchmark (bench/load/load_bench.sh): a torch.save zip in
// OpenAI's layout (the weights convert_weights makes half precision stored
// as HalfStorage, the rest as FloatStorage), or the same tensors as
// safetensors, and a tiny encode input (one text of token ids).
//
//	go run ./bench/load/gen -model ViT-B/16 -format pt -out /tmp/vit-b-16.pt
//	go run ./bench/load/gen -inputs /tmp/load-inputs.safetensors
//
// The files go where -out says (never into the repository: they are
// hundreds of megabytes).
package main

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vlpuda/vlpuda/internal/atomicfile"
	"github.com/vlpuda/vlpuda/nn"
	"github.com/vlpuda/vlpuda/tensor/dtype"
	"github.com/vlpuda/vlpuda/vlp"
	"github.com/vlpuda/vlpuda/vlp/safetensors"
)

// configs are OpenAI's published ViT configurations.
var configs = map[string]vlp.Config{
	"ViT-B/16": {EmbedDim: 512, ImageResolution: 224, VisionLayers: []int{12}, VisionWidth: 768, VisionPatchSize: 16,
		ContextLength: 77, VocabSize: 49408, TransformerWidth: 512, TransformerHeads: 8, TransformerLayers: 12},
	"ViT-L/14": {EmbedDim: 768, ImageResolution: 224, VisionLayers: []int{24}, VisionWidth: 1024, VisionPatchSize: 14,
		ContextLength: 77, VocabSize: 49408, TransformerWidth: 768, TransformerHeads: 12, TransformerLayers: 12},
}

func main() {
	model := flag.String("model", "ViT-B/16", "ViT-B/16 or ViT-L/14")
	format := flag.String("format", "pt", "pt (torch.save zip) or safetensors")
	out := flag.String("out", "", "checkpoint to write")
	inputs := flag.String("inputs", "", "write an encode input file (one text) here instead")
	seed := flag.Uint64("seed", 1, "seed of the random weights")
	flag.Parse()
	if err := run(*model, *format, *out, *inputs, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(model, format, out, inputs string, seed uint64) error {
	if inputs != "" {
		ids := make([]byte, 4*77)
		for i, id := range []uint32{49406, 320, 1125, 539, 320, 1929, 49407} {
			binary.LittleEndian.PutUint32(ids[4*i:], id)
		}
		t := safetensors.Tensor{Name: "text", DType: dtype.Int32, Shape: []int{1, 77}, Data: ids}
		return safetensors.ReplaceFile(inputs, []safetensors.Tensor{t}, nil)
	}
	cfg, ok := configs[model]
	if !ok || out == "" || (format != "pt" && format != "safetensors") {
		return fmt.Errorf("usage: -model ViT-B/16|ViT-L/14 -format pt|safetensors -out FILE")
	}
	m, err := vlp.New(cfg, seed)
	if err != nil {
		return err
	}
	ts := tensors(m)
	if format == "safetensors" {
		return safetensors.ReplaceFile(out, ts, nil)
	}
	return atomicfile.Write(out, true, func(w io.Writer) error { return writeTorch(w, out, ts) })
}

// tensors returns m's state dict in a stable order, each tensor half
// precision where OpenAI's convert_weights makes it so.
func tensors(m *vlp.CLIP) []safetensors.Tensor {
	sd := nn.StateDict(m)
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range sd {
			if !yield(k) {
				return
			}
		}
	})
	out := make([]safetensors.Tensor, 0, len(names))
	for _, name := range names {
		t := sd[name]
		v := t.Values()
		st := safetensors.Tensor{Name: name, DType: dtype.Float32, Shape: t.Shape()}
		if half(name) {
			st.DType = dtype.Float16
			st.Data = make([]byte, 2*len(v))
			for i, x := range v {
				binary.LittleEndian.PutUint16(st.Data[2*i:], dtype.Float32ToHalf(x))
			}
		} else {
			st.Data = make([]byte, 4*len(v))
			for i, x := range v {
				binary.LittleEndian.PutUint32(st.Data[4*i:], math.Float32bits(x))
			}
		}
		out = append(out, st)
	}
	return out
}

// half reports whether convert_weights in OpenAI's clip/model.py stores
// the tensor called name in float16: the weights and biases of
// convolutions, linear layers and attention, and the two projections.
func half(name string) bool {
	if name == "text_projection" || name == "visual.proj" {
		return true
	}
	if strings.Contains(name, ".ln_") || strings.HasPrefix(name, "ln_final") ||
		strings.Contains(name, "embedding") || name == "logit_scale" {
		return false
	}
	return strings.HasSuffix(name, "weight") || strings.HasSuffix(name, "bias")
}

// writeTorch writes ts as torch.save (PyTorch 1.6 and later) writes a dict
// of tensors: a stored zip with one folder holding data.pkl, byteorder,
// version and one storage data/<i> per tensor.
func writeTorch(w io.Writer, out string, ts []safetensors.Tensor) error {
	dir := strings.TrimSuffix(filepath.Base(out), filepath.Ext(out))
	z := zip.NewWriter(w)
	put := func(name string, data []byte) error {
		fw, err := z.CreateRaw(&zip.FileHeader{
			Name: dir + "/" + name, Method: zip.Store, CRC32: crc32.ChecksumIEEE(data),
			CompressedSize64: uint64(len(data)), UncompressedSize64: uint64(len(data)),
		})
		if err != nil {
			return err
		}
		_, err = fw.Write(data)
		return err
	}
	if err := put("data.pkl", statePickle(ts)); err != nil {
		return err
	}
	if err := put("byteorder", []byte("little")); err != nil {
		return err
	}
	for i, t := range ts {
		if err := put(fmt.Sprintf("data/%d", i), t.Data); err != nil {
			return err
		}
	}
	if err := put("version", []byte("3\n")); err != nil {
		return err
	}
	return z.Close()
}

// pickler writes pickle protocol 2 opcodes.
type pickler struct{ bytes.Buffer }

func (p *pickler) op(b ...byte)       { p.Write(b) }
func (p *pickler) global(m, n string) { p.WriteString("c" + m + "\n" + n + "\n") }
func (p *pickler) str(s string) {
	p.op('X')
	p.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(s))))
	p.WriteString(s)
}
func (p *pickler) int(v int) {
	p.op('J')
	p.Write(binary.LittleEndian.AppendUint32(nil, uint32(int32(v))))
}
func (p *pickler) tuple(vs ...int) {
	p.op('(')
	for _, v := range vs {
		p.int(v)
	}
	p.op('t')
}

// statePickle returns data.pkl for ts: an OrderedDict from name to
// _rebuild_tensor_v2 of storage i, contiguous.
func statePickle(ts []safetensors.Tensor) []byte {
	var p pickler
	p.op(0x80, 2)
	p.global("collections", "OrderedDict")
	p.op(')', 'R', '(')
	for i, t := range ts {
		p.str(t.Name)
		p.global("torch._utils", "_rebuild_tensor_v2")
		p.op('(', '(')
		p.str("storage")
		storage := "FloatStorage"
		if t.DType == dtype.Float16 {
			storage = "HalfStorage"
		}
		p.global("torch", storage)
		p.str(fmt.Sprint(i))
		p.str("cpu")
		p.int(t.NumElements())
		p.op('t', 'Q')
		p.int(0)
		p.tuple(t.Shape...)
		strides := make([]int, len(t.Shape))
		s := 1
		for j := len(t.Shape) - 1; j >= 0; j-- {
			strides[j] = s
			s *= t.Shape[j]
		}
		p.tuple(strides...)
		p.op(0x89) // requires_grad False
		p.global("collections", "OrderedDict")
		p.op(')', 'R', 't', 'R')
	}
	p.op('u', '.')
	return p.Bytes()
}
