// Package pickle decodes Python pickles without executing anything.
//
// It is a small virtual machine for the binary opcodes that data files use,
// from pickle protocols 1 to 5: no text-mode opcodes of protocol 0 other
// than GLOBAL, no sets, no extension registry, no out-of-band buffers. Every reference to a Python global goes
// through the caller's Find function, which returns a value that stands for
// it or refuses it: nothing is importable unless the caller allows it, which
// is what makes loading untrusted files safe. Persistent ids go through
// PersistentLoad the same way.
//
// Values decode to Go types:
//
//	None           nil
//	bool           bool
//	int            int64 (integers beyond int64 are an error)
//	float          float64
//	str            string
//	bytes          []byte
//	tuple          Tuple
//	list           *List
//	dict           *Dict (insertion order kept)
//	NEWOBJ result  *Object
//
// and whatever Find and PersistentLoad return. REDUCE calls a Func; NEWOBJ
// instantiates a *Class as an *Object; BUILD stores its state in an *Object
// or a *Dict (Python would set instance attributes).
package pickle
