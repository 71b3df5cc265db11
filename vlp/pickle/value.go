package pickle

import (
	"fmt"
	"strconv"
	"strings"
)

// Tuple is a Python tuple.
type Tuple []any

// List is a Python list; it is a pointer so that APPEND through a memo
// reference changes every holder.
type List struct {
	Items []any
}

// Dict is a Python dict that keeps insertion order.
type Dict struct {
	Keys   []any
	Values []any
	// Attrs is the state a BUILD opcode gave the dict, such as the
	// _metadata attribute of a PyTorch state dict; nil if none.
	Attrs any

	index map[any]int // hashable key → position
}

// NewDict returns an empty Dict.
func NewDict() *Dict { return &Dict{} }

// Len returns the number of entries.
func (d *Dict) Len() int { return len(d.Keys) }

// Get returns the value stored under key.
func (d *Dict) Get(key any) (any, bool) {
	if i, ok := d.find(key); ok {
		return d.Values[i], true
	}
	return nil, false
}

// Set stores value under key, replacing an existing entry in place.
func (d *Dict) Set(key, value any) {
	if i, ok := d.find(key); ok {
		d.Values[i] = value
		return
	}
	if hashable(key) {
		if d.index == nil {
			d.index = make(map[any]int)
		}
		d.index[key] = len(d.Keys)
	}
	d.Keys = append(d.Keys, key)
	d.Values = append(d.Values, value)
}

func (d *Dict) find(key any) (int, bool) {
	if !hashable(key) {
		return 0, false
	}
	i, ok := d.index[key]
	return i, ok
}

// hashable reports whether key can index a Go map: the scalar types a
// pickle decodes to. Other keys are kept but never matched.
func hashable(key any) bool {
	switch key.(type) {
	case nil, bool, int64, float64, string:
		return true
	}
	return false
}

// Class stands for a Python class that NEWOBJ may instantiate.
type Class struct {
	Module, Name string
}

// String returns "module.Name".
func (c *Class) String() string { return c.Module + "." + c.Name }

// Object is an instance made by NEWOBJ: its class, the constructor
// arguments and the state set by BUILD (usually a *Dict of attributes).
type Object struct {
	Class *Class
	Args  Tuple
	State any
}

// Func stands for a Python callable that REDUCE may call with the argument
// tuple.
type Func func(args Tuple) (any, error)

// TypeName names the Python type of a decoded value, for error messages:
// "int", "dict", "torch._utils.X object".
func TypeName(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case Tuple:
		return "tuple"
	case *List:
		return "list"
	case *Dict:
		return "dict"
	case *Object:
		return v.Class.String() + " object"
	case *Class:
		return "class " + v.String()
	case Func:
		return "function"
	}
	return fmt.Sprintf("%T", v)
}

// Describe renders a decoded value for error messages, short whatever the
// value: scalars as Python writes them, strings quoted and cut after 40
// bytes, the first 8 items of a tuple (two levels deep), and lists, dicts
// and objects by their type and size. It never shows Go pointers.
func Describe(v any) string {
	var b strings.Builder
	describe(&b, v, 0)
	return b.String()
}

// Limits of Describe.
const (
	describeItems = 8
	describeDepth = 2
	describeBytes = 40
)

func describe(b *strings.Builder, v any, depth int) {
	switch v := v.(type) {
	case nil:
		b.WriteString("None")
	case bool:
		if v {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case float64:
		b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	case string:
		if len(v) > describeBytes {
			b.WriteString(strconv.Quote(v[:describeBytes]) + "…")
		} else {
			b.WriteString(strconv.Quote(v))
		}
	case []byte:
		fmt.Fprintf(b, "bytes of length %d", len(v))
	case Tuple:
		if depth >= describeDepth {
			fmt.Fprintf(b, "tuple of %d", len(v))
			return
		}
		b.WriteString("(")
		for i, x := range v {
			if i == describeItems {
				fmt.Fprintf(b, ", … (%d items)", len(v))
				break
			}
			if i > 0 {
				b.WriteString(", ")
			}
			describe(b, x, depth+1)
		}
		b.WriteString(")")
	case *List:
		fmt.Fprintf(b, "list of %d", len(v.Items))
	case *Dict:
		fmt.Fprintf(b, "dict of %d", v.Len())
	default:
		b.WriteString(TypeName(v))
	}
}
