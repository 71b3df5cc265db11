package torchpt

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/vlpuda/vlpuda/internal/shapefmt"
	"github.com/vlpuda/vlpuda/tensor/dtype"
	"github.com/vlpuda/vlpuda/vlp/pickle"
)

// Format tells what a checkpoint's data.pkl holds.
type Format int

// The checkpoint kinds.
const (
	StateDict   Format = iota + 1 // a torch.save'd dict of tensors
	TorchScript                   // a TorchScript module tree
)

// String returns "state dict" or "TorchScript".
func (f Format) String() string {
	switch f {
	case StateDict:
		return "state dict"
	case TorchScript:
		return "TorchScript"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// Tensor is one tensor of a checkpoint.
type Tensor struct {
	Name          string
	DType         dtype.DType // element type of the storage
	Shape         []int
	Strides       []int // in elements, as stored
	StorageOffset int   // in elements
	// Data holds the tensor's values in row-major order, gathered through
	// the strides and converted to float32.
	Data []float32
}

// File is the content of a checkpoint.
type File struct {
	Format  Format
	Tensors []Tensor // in the order data.pkl lists them
}

// ReadFile reads the checkpoint at path, every tensor's data included.
func ReadFile(name string) (*File, error) {
	a, err := OpenFile(name)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	out, err := a.readAll()
	if err != nil {
		return nil, fmt.Errorf("torchpt: %s: %w", name, err)
	}
	return out, nil
}

// Read reads a checkpoint of size bytes from r, every tensor's data
// included. Its errors do not repeat the "torchpt: " prefix and the file
// name that ReadFile adds.
func Read(r io.ReaderAt, size int64) (*File, error) {
	a, err := Open(r, size)
	if err != nil {
		return nil, err
	}
	return a.readAll()
}

// readAll reads the data of every tensor of a.
func (a *Archive) readAll() (*File, error) {
	out := &File{Format: a.Format, Tensors: a.Tensors}
	for i := range out.Tensors {
		t := &out.Tensors[i]
		t.Data = make([]float32, a.refs[i].n)
		if err := a.ReadFloat32(i, t.Data); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Archive is a checkpoint opened for reading: what its data.pkl says about
// its tensors, whose data ReadFloat32 reads on demand, one at a time,
// straight from the archive's entries.
type Archive struct {
	Format  Format
	Tensors []Tensor // in the order data.pkl lists them, Data nil

	refs    []*tensorRef
	entries []*zip.File // the storage of each tensor
	closer  io.Closer
}

// OpenFile opens the checkpoint at path, reading only its data.pkl. The
// caller must Close it.
func OpenFile(name string) (*Archive, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("torchpt: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("torchpt: %w", err)
	}
	a, err := Open(f, st.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("torchpt: %s: %w", name, err)
	}
	a.closer = f
	return a, nil
}

// Close closes the file OpenFile opened; it does nothing for an Archive
// from Open.
func (a *Archive) Close() error {
	if a.closer == nil {
		return nil
	}
	return a.closer.Close()
}

// Open opens a checkpoint of size bytes in r, reading only its data.pkl:
// it checks every tensor against its storage (the entry exists, has the
// size the storage declares, within MaxInflation of its compressed size,
// and the view stays inside it) before any data is read. Its errors do not
// repeat the "torchpt: " prefix.
func Open(r io.ReaderAt, size int64) (*Archive, error) {
	z, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("not a zip archive (PyTorch files from before 1.6 are not supported): %w", err)
	}
	pkl, err := findDataPkl(z)
	if err != nil {
		return nil, err
	}
	prefix := path.Dir(pkl.Name) + "/"
	if prefix == "./" {
		prefix = ""
	}
	data, err := readEntry(pkl, MaxPickleSize)
	if err != nil {
		return nil, err
	}
	u := &pickle.Unpickler{Find: find, PersistentLoad: persistentLoad}
	root, err := u.Load(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pkl.Name, err)
	}
	format, refs, err := collect(root)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pkl.Name, err)
	}

	entries := make(map[string]*zip.File, len(z.File))
	for _, f := range z.File {
		entries[f.Name] = f
	}
	a := &Archive{Format: format, Tensors: make([]Tensor, len(refs)), refs: refs, entries: make([]*zip.File, len(refs))}
	expandable := maxExpanded // elements that views may add beyond their storages
	for i, ref := range refs {
		if a.entries[i], err = storageEntry(entries, prefix, ref.st); err != nil {
			return nil, fmt.Errorf("tensor %s: %w", ref.name, err)
		}
		if ref.n, err = ref.numel(expandable); err != nil {
			return nil, fmt.Errorf("tensor %s: %w", ref.name, err)
		}
		if int64(ref.n) > ref.st.numel {
			expandable -= ref.n
		}
		a.Tensors[i] = Tensor{Name: ref.name, DType: ref.st.dt, Shape: ref.shape, Strides: ref.strides, StorageOffset: ref.offset}
	}
	return a, nil
}

// ReadFloat32 reads the values of tensor i in row-major order, converted
// to float32, into dst, which must hold exactly its elements. A contiguous
// tensor is decoded as its entry streams by, with no copy of the entry;
// any other is gathered from a copy of its storage. Either way the whole
// entry is read, so that its CRC is checked.
func (a *Archive) ReadFloat32(i int, dst []float32) error {
	ref, f := a.refs[i], a.entries[i]
	if len(dst) != ref.n {
		return fmt.Errorf("tensor %s: %d values to fill, want %d", ref.name, len(dst), ref.n)
	}
	if ref.n == 0 {
		return nil
	}
	if !contiguous(ref.shape, ref.strides) {
		raw, err := readEntry(f, maxElements*8)
		if err != nil {
			return fmt.Errorf("tensor %s: %w", ref.name, err)
		}
		ref.gather(raw, dst)
		return nil
	}
	if err := streamEntry(f, ref, dst); err != nil {
		return fmt.Errorf("tensor %s: %w", ref.name, err)
	}
	return nil
}

// streamEntry decodes the contiguous tensor ref from entry f into dst,
// reading f from its start to its end.
func streamEntry(f *zip.File, ref *tensorRef, dst []float32) error {
	rc, err := f.Open()
	if err != nil {
		return fmt.Errorf("%s: %w", f.Name, err)
	}
	defer rc.Close()
	size := int64(ref.st.dt.Size())
	if _, err := io.CopyN(io.Discard, rc, int64(ref.offset)*size); err != nil {
		return fmt.Errorf("%s: %w", f.Name, err)
	}
	if err := dtype.ReadFloat32(rc, dst, ref.st.dt); err != nil {
		return fmt.Errorf("%s: %w", f.Name, err)
	}
	rest := (ref.st.numel - int64(ref.offset) - int64(ref.n)) * size
	if _, err := io.CopyN(io.Discard, rc, rest); err != nil {
		return fmt.Errorf("%s: %w", f.Name, err)
	}
	return checkEnd(f, rc)
}

// findDataPkl returns the archive's data.pkl: at the root or in one
// top-level folder.
func findDataPkl(z *zip.Reader) (*zip.File, error) {
	var found []*zip.File
	for _, f := range z.File {
		if f.Name == "data.pkl" || strings.HasSuffix(f.Name, "/data.pkl") && strings.Count(f.Name, "/") == 1 {
			found = append(found, f)
		}
	}
	switch len(found) {
	case 0:
		return nil, errors.New("no data.pkl in the archive: not a PyTorch checkpoint")
	case 1:
		return found[0], nil
	}
	return nil, fmt.Errorf("archive holds %d data.pkl files (%s, %s, ...)", len(found), found[0].Name, found[1].Name)
}

// MaxPickleSize bounds the size of a checkpoint's data.pkl: 8 MiB. The
// largest data.pkl of a real CLIP checkpoint (OpenAI's TorchScript
// ViT-L/14, open_clip's largest state dicts) is well under 1 MiB.
const MaxPickleSize = 8 << 20

// MaxInflation bounds how many times larger than its compressed bytes a zip
// entry may inflate. PyTorch stores its entries uncompressed (a ratio of 1)
// and deflate shrinks weights by a few percent at most, so only a crafted
// entry comes near the limit; with it, the entries of an archive hold at
// most MaxInflation times the archive's size.
const MaxInflation = 16

// entryLimit returns the most bytes that entry f may inflate to: limit,
// and no more than MaxInflation times its compressed size (an entry of at
// most 4 KiB may inflate to 64 KiB).
func entryLimit(f *zip.File, limit uint64) uint64 {
	return min(limit, max(f.CompressedSize64, 4<<10)*MaxInflation)
}

// readEntry reads a whole zip entry, checking its CRC. It refuses an entry
// whose declared size exceeds limit or entryLimit's bound before it
// allocates, and one that inflates past its declared size while reading.
func readEntry(f *zip.File, limit uint64) ([]byte, error) {
	if err := checkSize(f, limit); err != nil {
		return nil, err
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	defer rc.Close()
	b := make([]byte, f.UncompressedSize64)
	if _, err := io.ReadFull(rc, b); err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	if err := checkEnd(f, rc); err != nil {
		return nil, err
	}
	return b, nil
}

// checkSize refuses entry f if its declared size exceeds limit or
// entryLimit's bound.
func checkSize(f *zip.File, limit uint64) error {
	if n, lim := f.UncompressedSize64, entryLimit(f, limit); n > lim {
		return fmt.Errorf("%s: entry of %d bytes (%d compressed) is larger than the limit of %d", f.Name, n, f.CompressedSize64, lim)
	}
	return nil
}

// checkEnd checks that rc, which has given all the declared bytes of
// entry f, ends there; reading on checks the CRC.
func checkEnd(f *zip.File, rc io.Reader) error {
	var extra [1]byte
	if n, err := rc.Read(extra[:]); n > 0 || err != io.EOF {
		if err == nil || err == io.EOF {
			err = errors.New("inflates past its declared size")
		}
		return fmt.Errorf("%s: entry of %d bytes: %w", f.Name, f.UncompressedSize64, err)
	}
	return nil
}

// storageEntry returns the entry of storage st and checks its size.
func storageEntry(entries map[string]*zip.File, prefix string, st *storage) (*zip.File, error) {
	name := prefix + "data/" + st.key
	f, ok := entries[name]
	if !ok {
		return nil, fmt.Errorf("storage %q: archive has no entry %s", st.key, name)
	}
	want := uint64(st.numel) * uint64(st.dt.Size())
	if f.UncompressedSize64 != want {
		return nil, fmt.Errorf("storage %q: %s holds %d bytes, want %d (%d × %v)", st.key, name, f.UncompressedSize64, want, st.numel, st.dt)
	}
	if err := checkSize(f, maxElements*8); err != nil {
		return nil, err
	}
	return f, nil
}

// storageType stands for a torch.*Storage class.
type storageType struct {
	name string
	dt   dtype.DType
}

var storageTypes = map[string]dtype.DType{
	"FloatStorage":    dtype.Float32,
	"HalfStorage":     dtype.Float16,
	"BFloat16Storage": dtype.BFloat16,
	"DoubleStorage":   dtype.Float64,
	"LongStorage":     dtype.Int64,
	"IntStorage":      dtype.Int32,
	"ShortStorage":    dtype.Int16,
	"CharStorage":     dtype.Int8,
	"ByteStorage":     dtype.Uint8,
	"BoolStorage":     dtype.Bool,
}

// storage is a persistent storage reference.
type storage struct {
	key   string
	dt    dtype.DType
	numel int64
}

// tensorRef is a tensor as data.pkl describes it, before its data is read.
type tensorRef struct {
	name    string
	st      *storage
	offset  int
	shape   []int
	strides []int
	n       int // elements, once numel has checked the view
}

// find is the allow-list of globals.
func find(module, name string) (any, error) {
	switch {
	case module == "collections" && name == "OrderedDict":
		return pickle.Func(newOrderedDict), nil
	case module == "torch._utils":
		switch name {
		case "_rebuild_tensor_v2", "_rebuild_tensor":
			return pickle.Func(rebuildTensor), nil
		case "_rebuild_parameter", "_rebuild_parameter_with_state":
			return pickle.Func(rebuildParameter), nil
		}
	case module == "torch":
		if dt, ok := storageTypes[name]; ok {
			return &storageType{name: name, dt: dt}, nil
		}
	case strings.HasPrefix(module, "__torch__."):
		return &pickle.Class{Module: module, Name: name}, nil
	}
	return nil, pickle.ErrNotAllowed
}

func newOrderedDict(args pickle.Tuple) (any, error) {
	if len(args) != 0 {
		return nil, fmt.Errorf("OrderedDict called with %d arguments, want none", len(args))
	}
	return pickle.NewDict(), nil
}

// persistentLoad resolves ('storage', type, key, location, numel).
func persistentLoad(pid any) (any, error) {
	t, ok := pid.(pickle.Tuple)
	if !ok || len(t) != 5 || t[0] != "storage" {
		return nil, fmt.Errorf("persistent id %s is not ('storage', type, key, location, numel)", pickle.Describe(pid))
	}
	typ, ok1 := t[1].(*storageType)
	key, ok2 := t[2].(string)
	_, ok3 := t[3].(string)
	numel, ok4 := t[4].(int64)
	if !ok1 || !ok2 || !ok3 || !ok4 || numel < 0 || numel > maxElements {
		return nil, fmt.Errorf("malformed storage id %s", pickle.Describe(pid))
	}
	return &storage{key: key, dt: typ.dt, numel: numel}, nil
}

// rebuildTensor implements _rebuild_tensor_v2(storage, storage_offset,
// size, stride, requires_grad, backward_hooks[, metadata]) and the older
// _rebuild_tensor(storage, storage_offset, size, stride).
func rebuildTensor(args pickle.Tuple) (any, error) {
	if len(args) != 4 && len(args) != 6 && len(args) != 7 {
		return nil, fmt.Errorf("_rebuild_tensor with %d arguments, want 4, 6 or 7", len(args))
	}
	st, ok := args[0].(*storage)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor: storage argument is a %s", pickle.TypeName(args[0]))
	}
	offset, ok := args[1].(int64)
	if !ok || offset < 0 || offset > math.MaxInt32*int64(16) {
		return nil, fmt.Errorf("_rebuild_tensor: bad storage offset %s", pickle.Describe(args[1]))
	}
	shape, err := ints(args[2], "size")
	if err != nil {
		return nil, err
	}
	strides, err := ints(args[3], "stride")
	if err != nil {
		return nil, err
	}
	if len(shape) != len(strides) {
		return nil, fmt.Errorf("_rebuild_tensor: size %s and stride %s differ in length", shapefmt.String(shape), shapefmt.String(strides))
	}
	return &tensorRef{st: st, offset: int(offset), shape: shape, strides: strides}, nil
}

// ints converts a tuple of non-negative ints.
func ints(v any, what string) ([]int, error) {
	t, ok := v.(pickle.Tuple)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor: %s is a %s, want a tuple", what, pickle.TypeName(v))
	}
	out := make([]int, len(t))
	for i, x := range t {
		n, ok := x.(int64)
		if !ok || n < 0 || n > math.MaxInt32*int64(16) {
			return nil, fmt.Errorf("_rebuild_tensor: bad %s %s", what, pickle.Describe(t))
		}
		out[i] = int(n)
	}
	return out, nil
}

// rebuildParameter implements _rebuild_parameter(data, requires_grad,
// backward_hooks) and _rebuild_parameter_with_state(..., state): the
// parameter is its data tensor.
func rebuildParameter(args pickle.Tuple) (any, error) {
	if len(args) != 3 && len(args) != 4 {
		return nil, fmt.Errorf("_rebuild_parameter with %d arguments, want 3 or 4", len(args))
	}
	t, ok := args[0].(*tensorRef)
	if !ok {
		return nil, fmt.Errorf("_rebuild_parameter of a %s, want a tensor", pickle.TypeName(args[0]))
	}
	return t, nil
}

// maxDepth bounds the nesting of modules and dicts that collect follows.
const maxDepth = 100

// collect finds the tensors under root and names them.
func collect(root any) (Format, []*tensorRef, error) {
	var format Format
	var top *pickle.Dict
	switch v := root.(type) {
	case *pickle.Object:
		if !strings.HasPrefix(v.Class.Module, "__torch__.") {
			return 0, nil, fmt.Errorf("root is a %s object, not a TorchScript module", v.Class)
		}
		d, ok := v.State.(*pickle.Dict)
		if !ok {
			return 0, nil, fmt.Errorf("TorchScript module %s has no attribute dict", v.Class)
		}
		format, top = TorchScript, d
	case *pickle.Dict:
		format, top = StateDict, v
		if sd, ok := v.Get("state_dict"); ok {
			if d, ok := sd.(*pickle.Dict); ok {
				top = d
			}
		}
	default:
		return 0, nil, fmt.Errorf("data.pkl holds a %s, not a state dict or a TorchScript module", pickle.TypeName(root))
	}
	c := collector{seen: make(map[any]bool)}
	if err := c.walk("", top, 0); err != nil {
		return 0, nil, err
	}
	return format, c.refs, nil
}

type collector struct {
	refs []*tensorRef
	seen map[any]bool // containers being walked, to stop on cycles
}

// walk names the tensors of d with prefix, descending into modules and
// dicts with string keys.
func (c *collector) walk(prefix string, d *pickle.Dict, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%s: nested more than %d levels", strings.TrimSuffix(prefix, "."), maxDepth)
	}
	if c.seen[d] {
		return nil
	}
	c.seen[d] = true
	defer delete(c.seen, d)
	for i, k := range d.Keys {
		key, ok := k.(string)
		if !ok {
			continue
		}
		switch v := d.Values[i].(type) {
		case *tensorRef:
			t := *v
			t.name = prefix + key
			c.refs = append(c.refs, &t)
		case *pickle.Object:
			if sub, ok := v.State.(*pickle.Dict); ok {
				if err := c.walk(prefix+key+".", sub, depth+1); err != nil {
					return err
				}
			}
		case *pickle.Dict:
			if err := c.walk(prefix+key+".", v, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// maxElements bounds the size of one tensor: 2³⁴ elements, or an eighth of
// the address space on 32-bit targets.
const maxElements = min(1<<34, math.MaxInt/8)

// maxExpanded bounds the elements of the views with more elements than
// their storages (zero strides), all of a file's together, so that a small
// file cannot demand a huge allocation: 2²⁴ elements (64 MiB), far above
// any buffer a CLIP checkpoint expands. At 2²⁸ a 354-byte file found by
// FuzzRead took 12 s and 786 MB to expand. It is a variable for the tests.
var maxExpanded = min(1<<24, maxElements/4)

// numel checks that the view stays inside its storage and returns its
// number of elements. A view with more elements than its storage may have
// at most expandable elements.
func (r *tensorRef) numel(expandable int) (int, error) {
	if slices.Contains(r.shape, 0) {
		return 0, nil
	}
	numel := r.st.numel
	outOfRange := func() error {
		return fmt.Errorf("offset %d, size %s and stride %s reach past the %d elements of storage %q",
			r.offset, shapefmt.String(r.shape), shapefmt.String(r.strides), numel, r.st.key)
	}
	if int64(r.offset) >= numel {
		return 0, outOfRange()
	}
	n := 1
	last := int64(r.offset) // storage index of the last element
	for i, d := range r.shape {
		if n > maxElements/d {
			return 0, fmt.Errorf("shape %s has too many elements", shapefmt.String(r.shape))
		}
		n *= d
		if s := int64(r.strides[i]); s > 0 && int64(d-1) > (numel-1-last)/s {
			return 0, outOfRange()
		}
		last += int64(d-1) * int64(r.strides[i])
	}
	if int64(n) > numel && n > expandable {
		return 0, fmt.Errorf("view of %d elements over a storage of %d is too large to expand", n, numel)
	}
	return n, nil
}

// gather converts the view's elements, through its strides, from the
// storage bytes raw into dst; numel has checked the view.
func (r *tensorRef) gather(raw []byte, dst []float32) {
	size := r.st.dt.Size()
	idx := make([]int, len(r.shape))
	off := r.offset
	for i := range dst {
		dtype.ToFloat32(dst[i:i+1], raw[off*size:(off+1)*size], r.st.dt)
		// Advance the multi-index like an odometer, last axis fastest.
		for ax := len(idx) - 1; ax >= 0; ax-- {
			idx[ax]++
			off += r.strides[ax]
			if idx[ax] < r.shape[ax] {
				break
			}
			off -= idx[ax] * r.strides[ax]
			idx[ax] = 0
		}
	}
}

// contiguous reports whether strides are row-major for shape (axes of
// length 1 may have any stride).
func contiguous(shape, strides []int) bool {
	want := 1
	for i := len(shape) - 1; i >= 0; i-- {
		if shape[i] != 1 && strides[i] != want {
			return false
		}
		want *= shape[i]
	}
	return true
}
