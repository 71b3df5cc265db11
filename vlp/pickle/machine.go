package pickle

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// Unpickler decodes pickles, resolving globals and persistent ids through
// its functions.
type Unpickler struct {
	// Find returns the value that stands for the global module.name, usually
	// a Func or a *Class, or an error if the global is not allowed. A nil
	// Find allows no global.
	Find func(module, name string) (any, error)
	// PersistentLoad returns the object a persistent id refers to. A nil
	// PersistentLoad rejects persistent ids.
	PersistentLoad func(pid any) (any, error)
}

// ErrNotAllowed is wrapped by the error for a global that Find refuses,
// when Find returns it, and by the error for any global when Find is nil.
var ErrNotAllowed = errors.New("not allowed")

// maxProtocol is the newest pickle protocol the machine accepts.
const maxProtocol = 5

// Load decodes the pickle in data up to its STOP opcode and returns the
// result.
func (u *Unpickler) Load(data []byte) (any, error) {
	m := &machine{u: u, data: data, memo: make(map[uint32]any)}
	v, err := m.run()
	if err != nil {
		return nil, fmt.Errorf("pickle: offset %d: %w", m.op, err)
	}
	return v, nil
}

// machine is the state of one Load.
type machine struct {
	u     *Unpickler
	data  []byte
	pos   int // next byte to read
	op    int // offset of the opcode being executed
	stack []any
	marks []int // stack heights at each MARK
	memo  map[uint32]any
}

var errTruncated = errors.New("unexpected end of data (truncated pickle)")

func (m *machine) read(n int) ([]byte, error) {
	if n < 0 || n > len(m.data)-m.pos {
		return nil, errTruncated
	}
	b := m.data[m.pos : m.pos+n]
	m.pos += n
	return b, nil
}

func (m *machine) readByte() (byte, error) {
	b, err := m.read(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

func (m *machine) readUint(n int) (uint64, error) {
	b, err := m.read(n)
	if err != nil {
		return 0, err
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, nil
}

// readLine reads up to and excluding the next newline.
func (m *machine) readLine() (string, error) {
	for i := m.pos; i < len(m.data); i++ {
		if m.data[i] == '\n' {
			s := string(m.data[m.pos:i])
			m.pos = i + 1
			return s, nil
		}
	}
	return "", errTruncated
}

func (m *machine) push(v any) { m.stack = append(m.stack, v) }

func (m *machine) pop() (any, error) {
	if len(m.stack) == 0 || len(m.marks) > 0 && len(m.stack) == m.marks[len(m.marks)-1] {
		return nil, errors.New("stack underflow")
	}
	v := m.stack[len(m.stack)-1]
	m.stack = m.stack[:len(m.stack)-1]
	return v, nil
}

func (m *machine) top() (any, error) {
	if len(m.stack) == 0 || len(m.marks) > 0 && len(m.stack) == m.marks[len(m.marks)-1] {
		return nil, errors.New("stack underflow")
	}
	return m.stack[len(m.stack)-1], nil
}

// popMark returns the items pushed since the last MARK and removes them
// and the mark.
func (m *machine) popMark() ([]any, error) {
	if len(m.marks) == 0 {
		return nil, errors.New("no MARK on the stack")
	}
	k := m.marks[len(m.marks)-1]
	m.marks = m.marks[:len(m.marks)-1]
	items := append([]any(nil), m.stack[k:]...)
	m.stack = m.stack[:k]
	return items, nil
}

// opcodes, named as in Python's pickletools.
const (
	opMark           = '('
	opStop           = '.'
	opPop            = '0'
	opPopMark        = '1'
	opDup            = '2'
	opBinInt         = 'J'
	opBinInt1        = 'K'
	opBinInt2        = 'M'
	opLong1          = 0x8a
	opLong4          = 0x8b
	opNone           = 'N'
	opNewTrue        = 0x88
	opNewFalse       = 0x89
	opBinFloat       = 'G'
	opBinString      = 'T'
	opShortBinString = 'U'
	opBinUnicode     = 'X'
	opShortBinUni    = 0x8c
	opBinUnicode8    = 0x8d
	opBinBytes       = 'B'
	opShortBinBytes  = 'C'
	opBinBytes8      = 0x8e
	opEmptyTuple     = ')'
	opTuple          = 't'
	opTuple1         = 0x85
	opTuple2         = 0x86
	opTuple3         = 0x87
	opEmptyList      = ']'
	opAppend         = 'a'
	opAppends        = 'e'
	opList           = 'l'
	opEmptyDict      = '}'
	opDict           = 'd'
	opSetItem        = 's'
	opSetItems       = 'u'
	opGlobal         = 'c'
	opStackGlobal    = 0x93
	opReduce         = 'R'
	opNewObj         = 0x81
	opBuild          = 'b'
	opBinPersID      = 'Q'
	opBinPut         = 'q'
	opLongBinPut     = 'r'
	opMemoize        = 0x94
	opBinGet         = 'h'
	opLongBinGet     = 'j'
	opProto          = 0x80
	opFrame          = 0x95
)

func (m *machine) run() (any, error) {
	for {
		m.op = m.pos
		code, err := m.readByte()
		if err != nil {
			return nil, err
		}
		if code == opStop {
			v, err := m.pop()
			if err != nil {
				return nil, err
			}
			if len(m.stack) != 0 || len(m.marks) != 0 {
				return nil, fmt.Errorf("STOP with %d values and %d marks left on the stack", len(m.stack), len(m.marks))
			}
			return v, nil
		}
		if err := m.step(code); err != nil {
			return nil, err
		}
	}
}

// step executes one opcode.
func (m *machine) step(code byte) error {
	switch code {
	case opProto:
		v, err := m.readByte()
		if err != nil {
			return err
		}
		if v > maxProtocol {
			return fmt.Errorf("unsupported pickle protocol %d", v)
		}
	case opFrame:
		_, err := m.read(8) // frames only help buffered readers
		return err
	case opMark:
		m.marks = append(m.marks, len(m.stack))
	case opPop:
		_, err := m.pop()
		return err
	case opPopMark:
		_, err := m.popMark()
		return err
	case opDup:
		v, err := m.top()
		if err != nil {
			return err
		}
		m.push(v)

	case opNone:
		m.push(nil)
	case opNewTrue:
		m.push(true)
	case opNewFalse:
		m.push(false)
	case opBinInt:
		v, err := m.readUint(4)
		if err != nil {
			return err
		}
		m.push(int64(int32(uint32(v))))
	case opBinInt1:
		v, err := m.readUint(1)
		if err != nil {
			return err
		}
		m.push(int64(v))
	case opBinInt2:
		v, err := m.readUint(2)
		if err != nil {
			return err
		}
		m.push(int64(v))
	case opLong1, opLong4:
		width := 1
		if code == opLong4 {
			width = 4
		}
		n, err := m.readUint(width)
		if err != nil {
			return err
		}
		b, err := m.read(int(min(n, math.MaxInt32)))
		if err != nil {
			return err
		}
		v, err := decodeLong(b)
		if err != nil {
			return err
		}
		m.push(v)
	case opBinFloat:
		b, err := m.read(8)
		if err != nil {
			return err
		}
		m.push(math.Float64frombits(binary.BigEndian.Uint64(b)))

	case opBinUnicode, opShortBinUni, opBinUnicode8:
		b, err := m.readSized(code, opShortBinUni, opBinUnicode, opBinUnicode8)
		if err != nil {
			return err
		}
		if !utf8.Valid(b) {
			return errors.New("string is not valid UTF-8")
		}
		m.push(string(b))
	case opBinString, opShortBinString:
		// Python 2 str: bytes that pickles of state dicts use for names.
		b, err := m.readSized(code, opShortBinString, opBinString, 0)
		if err != nil {
			return err
		}
		m.push(string(b))
	case opBinBytes, opShortBinBytes, opBinBytes8:
		b, err := m.readSized(code, opShortBinBytes, opBinBytes, opBinBytes8)
		if err != nil {
			return err
		}
		m.push(append([]byte(nil), b...))

	case opEmptyTuple:
		m.push(Tuple{})
	case opTuple:
		items, err := m.popMark()
		if err != nil {
			return err
		}
		m.push(Tuple(items))
	case opTuple1, opTuple2, opTuple3:
		n := int(code-opTuple1) + 1
		t := make(Tuple, n)
		for i := n - 1; i >= 0; i-- {
			v, err := m.pop()
			if err != nil {
				return err
			}
			t[i] = v
		}
		m.push(t)
	case opEmptyList:
		m.push(&List{})
	case opList:
		items, err := m.popMark()
		if err != nil {
			return err
		}
		m.push(&List{Items: items})
	case opAppend, opAppends:
		var items []any
		if code == opAppend {
			v, err := m.pop()
			if err != nil {
				return err
			}
			items = []any{v}
		} else {
			var err error
			if items, err = m.popMark(); err != nil {
				return err
			}
		}
		v, err := m.top()
		if err != nil {
			return err
		}
		l, ok := v.(*List)
		if !ok {
			return fmt.Errorf("APPEND to %s, want list", TypeName(v))
		}
		l.Items = append(l.Items, items...)
	case opEmptyDict:
		m.push(NewDict())
	case opDict:
		items, err := m.popMark()
		if err != nil {
			return err
		}
		d := NewDict()
		if err := setItems(d, items); err != nil {
			return err
		}
		m.push(d)
	case opSetItem, opSetItems:
		var items []any
		if code == opSetItem {
			v, err := m.pop()
			if err != nil {
				return err
			}
			k, err := m.pop()
			if err != nil {
				return err
			}
			items = []any{k, v}
		} else {
			var err error
			if items, err = m.popMark(); err != nil {
				return err
			}
		}
		v, err := m.top()
		if err != nil {
			return err
		}
		d, ok := v.(*Dict)
		if !ok {
			return fmt.Errorf("SETITEM on %s, want dict", TypeName(v))
		}
		return setItems(d, items)

	case opGlobal:
		module, err := m.readLine()
		if err != nil {
			return err
		}
		name, err := m.readLine()
		if err != nil {
			return err
		}
		return m.global(module, name)
	case opStackGlobal:
		nameV, err := m.pop()
		if err != nil {
			return err
		}
		moduleV, err := m.pop()
		if err != nil {
			return err
		}
		module, ok1 := moduleV.(string)
		name, ok2 := nameV.(string)
		if !ok1 || !ok2 {
			return fmt.Errorf("STACK_GLOBAL with %s and %s, want two str", TypeName(moduleV), TypeName(nameV))
		}
		return m.global(module, name)
	case opReduce:
		argsV, err := m.pop()
		if err != nil {
			return err
		}
		fn, err := m.pop()
		if err != nil {
			return err
		}
		args, ok := argsV.(Tuple)
		if !ok {
			return fmt.Errorf("REDUCE with %s arguments, want tuple", TypeName(argsV))
		}
		f, ok := fn.(Func)
		if !ok {
			return fmt.Errorf("REDUCE calls %s, which is not callable here", TypeName(fn))
		}
		v, err := f(args)
		if err != nil {
			return err
		}
		m.push(v)
	case opNewObj:
		argsV, err := m.pop()
		if err != nil {
			return err
		}
		clsV, err := m.pop()
		if err != nil {
			return err
		}
		args, ok := argsV.(Tuple)
		if !ok {
			return fmt.Errorf("NEWOBJ with %s arguments, want tuple", TypeName(argsV))
		}
		cls, ok := clsV.(*Class)
		if !ok {
			return fmt.Errorf("NEWOBJ of %s, want a class", TypeName(clsV))
		}
		m.push(&Object{Class: cls, Args: args})
	case opBuild:
		state, err := m.pop()
		if err != nil {
			return err
		}
		v, err := m.top()
		if err != nil {
			return err
		}
		switch v := v.(type) {
		case *Object:
			v.State = state
		case *Dict:
			v.Attrs = state
		default:
			return fmt.Errorf("BUILD on %s, want an object or dict", TypeName(v))
		}
	case opBinPersID:
		pid, err := m.pop()
		if err != nil {
			return err
		}
		if m.u.PersistentLoad == nil {
			return errors.New("persistent id without a PersistentLoad function")
		}
		v, err := m.u.PersistentLoad(pid)
		if err != nil {
			return fmt.Errorf("persistent id: %w", err)
		}
		m.push(v)

	case opBinPut, opLongBinPut:
		width := 1
		if code == opLongBinPut {
			width = 4
		}
		i, err := m.readUint(width)
		if err != nil {
			return err
		}
		v, err := m.top()
		if err != nil {
			return err
		}
		m.memo[uint32(i)] = v
	case opMemoize:
		v, err := m.top()
		if err != nil {
			return err
		}
		m.memo[uint32(len(m.memo))] = v
	case opBinGet, opLongBinGet:
		width := 1
		if code == opLongBinGet {
			width = 4
		}
		i, err := m.readUint(width)
		if err != nil {
			return err
		}
		v, ok := m.memo[uint32(i)]
		if !ok {
			return fmt.Errorf("memo key %d not defined", i)
		}
		m.push(v)
	default:
		return fmt.Errorf("unsupported opcode 0x%02x %s", code, opName(code))
	}
	return nil
}

// readSized reads the length (1, 4 or 8 bytes, by opcode) and the payload
// of a string or bytes opcode. Zero opcodes never match.
func (m *machine) readSized(code, short, long4, long8 byte) ([]byte, error) {
	width := 4
	switch {
	case code == short:
		width = 1
	case long8 != 0 && code == long8:
		width = 8
	}
	n, err := m.readUint(width)
	if err != nil {
		return nil, err
	}
	if n > uint64(len(m.data)-m.pos) {
		return nil, fmt.Errorf("length %d runs past the end of the data (truncated pickle)", n)
	}
	return m.read(int(n))
}

// global pushes what Find returns for module.name.
func (m *machine) global(module, name string) error {
	if m.u.Find == nil {
		return fmt.Errorf("global %s.%s: %w", module, name, ErrNotAllowed)
	}
	v, err := m.u.Find(module, name)
	if err != nil {
		return fmt.Errorf("global %s.%s: %w", module, name, err)
	}
	m.push(v)
	return nil
}

// setItems stores alternating keys and values in d.
func setItems(d *Dict, items []any) error {
	if len(items)%2 != 0 {
		return fmt.Errorf("odd number of items (%d) for a dict", len(items))
	}
	for i := 0; i < len(items); i += 2 {
		d.Set(items[i], items[i+1])
	}
	return nil
}

// decodeLong decodes a little-endian two's-complement integer.
func decodeLong(b []byte) (int64, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if len(b) > 8 {
		// Allow redundant sign bytes, as long as the value fits.
		ext := byte(0)
		if b[len(b)-1]&0x80 != 0 {
			ext = 0xff
		}
		for _, c := range b[8:] {
			if c != ext {
				return 0, fmt.Errorf("integer of %d bytes does not fit in int64", len(b))
			}
		}
		if (b[7]&0x80 != 0) != (ext == 0xff) {
			return 0, fmt.Errorf("integer of %d bytes does not fit in int64", len(b))
		}
		b = b[:8]
	}
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	if shift := 64 - 8*uint(len(b)); shift > 0 {
		return int64(v<<shift) >> shift, nil // sign-extend
	}
	return int64(v), nil
}

// opName names the opcodes worth naming in an error.
func opName(code byte) string {
	names := map[byte]string{
		'I': "INT", 'L': "LONG", 'F': "FLOAT", 'S': "STRING", 'V': "UNICODE", 'P': "PERSID",
		'g': "GET", 'p': "PUT", 'i': "INST", 'o': "OBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4",
		0x8f: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET", 0x92: "NEWOBJ_EX",
		0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
	}
	if n, ok := names[code]; ok {
		return "(" + n + ")"
	}
	if code >= ' ' && code < 0x7f {
		return fmt.Sprintf("(%q)", string(rune(code)))
	}
	return ""
}
