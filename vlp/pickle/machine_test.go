package pickle

import (
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// Pickles of one value made by CPython 3.11's pickle.dumps at protocols 2,
// 4 and 5:
//
//	shared = [7]
//	{"ints": [0, 255, 256, 65535, 65536, -1, 2**31-1, -2**31, 2**40, -2**63, 2**63-1],
//	 "f": 1.5, "s": "héllo", "b": b"\x00\xff", "t": (1, (2, 3), ()), "n": None,
//	 "yes": True, "no": False, "shared": (shared, shared), 3: "int key"}
const (
	sampleP2 = "80027d7100285804000000696e747371015d7102284b004bff4d00014dffff4a000001004affffffff4affffff7f4a000000808a060000000000018a0800000000000000808a08ffffffffffffff7f655801000000667103473ff80000000000005801000000737104580600000068c3a96c6c6f71055801000000627106635f636f646563730a656e636f64650a7107580300000000c3bf710858060000006c6174696e31710986710a52710b580100000074710c4b014b024b0386710d2987710e58010000006e710f4e580300000079657371108858020000006e6f711189580600000073686172656471125d71134b076168138671144b035807000000696e74206b65797115752e"
	sampleP4 = "800495ac000000000000007d94288c04696e7473945d94284b004bff4d00014dffff4a000001004affffffff4affffff7f4a000000808a060000000000018a0800000000000000808a08ffffffffffffff7f658c016694473ff80000000000008c0173948c0668c3a96c6c6f948c016294430200ff948c0174944b014b024b0386942987948c016e944e8c0379657394888c026e6f94898c06736861726564945d944b0761680f86944b038c07696e74206b657994752e"
	sampleP5 = "800595ac000000000000007d94288c04696e7473945d94284b004bff4d00014dffff4a000001004affffffff4affffff7f4a000000808a060000000000018a0800000000000000808a08ffffffffffffff7f658c016694473ff80000000000008c0173948c0668c3a96c6c6f948c016294430200ff948c0174944b014b024b0386942987948c016e944e8c0379657394888c026e6f94898c06736861726564945d944b0761680f86944b038c07696e74206b657994752e"
	// pickle.dumps(2**64, protocol=2)
	bigIntP2 = "80028a090000000000000000012e"
	// pickle.dumps(collections.OrderedDict([("z", 1), ("a", 2)]), protocol=2)
	orderedP2 = "800263636f6c6c656374696f6e730a4f726465726564446963740a7100295271012858010000007a71024b0158010000006171034b02752e"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// codecs allows the one global that protocol 2 uses for bytes objects.
func codecs(module, name string) (any, error) {
	if module == "_codecs" && name == "encode" {
		return Func(func(args Tuple) (any, error) {
			s, _ := args[0].(string)
			out := make([]byte, 0, len(s))
			for _, r := range s {
				out = append(out, byte(r)) // latin1
			}
			return out, nil
		}), nil
	}
	return nil, ErrNotAllowed
}

func checkSample(t *testing.T, v any) {
	t.Helper()
	d, ok := v.(*Dict)
	if !ok {
		t.Fatalf("got %s, want dict", TypeName(v))
	}
	wantKeys := []any{"ints", "f", "s", "b", "t", "n", "yes", "no", "shared", int64(3)}
	if !reflect.DeepEqual(d.Keys, wantKeys) {
		t.Errorf("keys %v, want %v", d.Keys, wantKeys)
	}
	get := func(k any) any {
		v, ok := d.Get(k)
		if !ok {
			t.Fatalf("key %v missing", k)
		}
		return v
	}
	ints := []any{int64(0), int64(255), int64(256), int64(65535), int64(65536), int64(-1),
		int64(math.MaxInt32), int64(math.MinInt32), int64(1 << 40), int64(math.MinInt64), int64(math.MaxInt64)}
	checks := []struct {
		key  any
		want any
	}{
		{"ints", &List{Items: ints}},
		{"f", 1.5},
		{"s", "héllo"},
		{"b", []byte{0, 0xff}},
		{"t", Tuple{int64(1), Tuple{int64(2), int64(3)}, Tuple{}}},
		{"n", nil},
		{"yes", true},
		{"no", false},
		{int64(3), "int key"},
	}
	for _, c := range checks {
		if got := get(c.key); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%v: got %#v, want %#v", c.key, got, c.want)
		}
	}
	sh, ok := get("shared").(Tuple)
	if !ok || len(sh) != 2 || sh[0] != sh[1] {
		t.Errorf("shared = %#v, want a pair of one list (memo reference)", get("shared"))
	}
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name string
		hex  string
		find func(module, name string) (any, error)
	}{
		{"protocol 2", sampleP2, codecs},
		{"protocol 4", sampleP4, nil},
		{"protocol 5", sampleP5, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := &Unpickler{Find: tt.find}
			v, err := u.Load(mustHex(t, tt.hex))
			if err != nil {
				t.Fatal(err)
			}
			checkSample(t, v)
		})
	}
}

func TestOrderedDict(t *testing.T) {
	u := &Unpickler{Find: func(module, name string) (any, error) {
		if module == "collections" && name == "OrderedDict" {
			return Func(func(Tuple) (any, error) { return NewDict(), nil }), nil
		}
		return nil, ErrNotAllowed
	}}
	v, err := u.Load(mustHex(t, orderedP2))
	if err != nil {
		t.Fatal(err)
	}
	d, ok := v.(*Dict)
	if !ok || !reflect.DeepEqual(d.Keys, []any{"z", "a"}) || !reflect.DeepEqual(d.Values, []any{int64(1), int64(2)}) {
		t.Errorf("got %#v, want OrderedDict z=1, a=2", v)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		find func(module, name string) (any, error)
		want string
		is   error
	}{
		{"global without Find", mustHex(t, sampleP2), nil, "global _codecs.encode: not allowed", ErrNotAllowed},
		{"global refused", mustHex(t, orderedP2), codecs, "global collections.OrderedDict: not allowed", ErrNotAllowed},
		{"integer too large", mustHex(t, bigIntP2), nil, "does not fit in int64", nil},
		{"empty", nil, nil, "truncated", nil},
		{"unknown opcode", []byte{0x80, 2, 'i'}, nil, "unsupported opcode 0x69 (INST)", nil},
		{"protocol too new", []byte{0x80, 9}, nil, "unsupported pickle protocol 9", nil},
		{"stack underflow", []byte{'.'}, nil, "stack underflow", nil},
		{"values left", []byte{'N', 'N', '.'}, nil, "STOP with 1 values", nil},
		{"pop through mark", []byte{'N', '(', '0'}, nil, "stack underflow", nil},
		{"missing memo", []byte{'h', 5, '.'}, nil, "memo key 5 not defined", nil},
		{"append to tuple", []byte{')', 'N', 'a', '.'}, nil, "APPEND to tuple", nil},
		{"call a non-function", []byte{'N', ')', 'R', '.'}, nil, "REDUCE calls None", nil},
		{"string past end", []byte{'X', 0xff, 0xff, 0, 0, 'a'}, nil, "runs past the end", nil},
		{"persistent id", []byte{'N', 'Q', '.'}, nil, "without a PersistentLoad", nil},
		{"odd dict", []byte{'(', 'N', 'd', '.'}, nil, "odd number of items", nil},
		{"bad utf-8", []byte{0x8c, 1, 0xff, '.'}, nil, "not valid UTF-8", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := (&Unpickler{Find: tt.find}).Load(tt.data)
			if err == nil {
				t.Fatalf("Load succeeded, want error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "pickle: offset ") {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q does not wrap %v", err, tt.is)
			}
		})
	}
}

// TestLoadTruncated loads every proper prefix of a pickle: each must fail
// cleanly.
func TestLoadTruncated(t *testing.T) {
	data := mustHex(t, sampleP4)
	for n := range len(data) {
		if _, err := (&Unpickler{}).Load(data[:n]); err == nil {
			t.Fatalf("Load of the first %d of %d bytes succeeded", n, len(data))
		}
	}
}

func TestDecodeLong(t *testing.T) {
	tests := []struct {
		in   []byte
		want int64
		err  bool
	}{
		{nil, 0, false},
		{[]byte{0xff}, -1, false},
		{[]byte{0x80}, -128, false},
		{[]byte{0x80, 0x00}, 128, false},
		{[]byte{0, 0, 0, 0, 0, 0, 0, 0x80, 0xff}, math.MinInt64, false},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00}, math.MaxInt64, false},
		{[]byte{0, 0, 0, 0, 0, 0, 0, 0x80, 0x00}, 0, true},
		{[]byte{0, 0, 0, 0, 0, 0, 0, 0, 1}, 0, true},
	}
	for _, tt := range tests {
		got, err := decodeLong(tt.in)
		if (err != nil) != tt.err || !tt.err && got != tt.want {
			t.Errorf("decodeLong(%x) = %d, %v; want %d (error %v)", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func FuzzLoad(f *testing.F) {
	for _, s := range []string{sampleP2, sampleP4, orderedP2, bigIntP2} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		u := &Unpickler{
			Find: func(module, name string) (any, error) {
				if module == "collections" {
					return Func(func(Tuple) (any, error) { return NewDict(), nil }), nil
				}
				return &Class{Module: module, Name: name}, nil
			},
			PersistentLoad: func(pid any) (any, error) { return pid, nil },
		}
		u.Load(data) // must not panic
	})
}

func TestDescribe(t *testing.T) {
	long := make(Tuple, 100000)
	for i := range long {
		long[i] = int64(1)
	}
	tests := []struct {
		v    any
		want string
	}{
		{nil, "None"},
		{true, "True"},
		{int64(-3), "-3"},
		{1.5, "1.5"},
		{"storage", `"storage"`},
		{strings.Repeat("a", 50), `"` + strings.Repeat("a", 40) + `"…`},
		{[]byte{1, 2}, "bytes of length 2"},
		{Tuple{"storage", NewDict(), &List{Items: []any{1}}}, `("storage", dict of 0, list of 1)`},
		{Tuple{Tuple{Tuple{int64(1)}}}, "((tuple of 1))"},
		{&Object{Class: &Class{"torch", "Size"}}, "torch.Size object"},
		{&Class{"torch", "FloatStorage"}, "class torch.FloatStorage"},
		{long, "(1, 1, 1, 1, 1, 1, 1, 1, … (100000 items))"},
	}
	for _, tt := range tests {
		if got := Describe(tt.v); got != tt.want {
			t.Errorf("Describe(%s) = %q, want %q", TypeName(tt.v), got, tt.want)
		}
	}
}
