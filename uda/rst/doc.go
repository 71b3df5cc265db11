// Package rst implements Residual Sparse Training (paper Eqs.
// 15–17, Algorithms 1–2; the authors' models/rst.py) and the compact
// per-task residual files it makes possible.
//
// # Training
//
// RST trains the whole image tower in place and, after every optimiser
// step, resets each element with |w − w0| ≤ τ to its pre-trained value w0
// (the comparison is strict, |w − w0| > τ keeps, as in the authors' code).
// [New] snapshots w0; [Projector.Project] runs the reset in one parallel
// pass over the weights and returns how many elements differ from w0.
// Nothing else is touched: SGD's momentum buffers keep accumulating for
// pinned elements, which is how an element eventually escapes.
//
// The number of elements that escape depends on lr/τ and differs by task.
// For a predictable residual size, [Projector.SetMaxDensity] caps the
// fraction that may differ: when more are past τ, the step's threshold is
// raised to the smallest value that keeps at most the budget, so the
// largest |w − w0| over all parameters survive (a global top-k, found by a
// radix select on the float bits of the kept elements only). A τ schedule,
// as in the paper's segmentation appendix, is [Projector.SetTau] called
// before each Project.
// [Projector.Density] counts the changed elements per parameter and in
// total, cheaply enough to log every epoch.
//
// # Residuals
//
// [Projector.Residual] extracts the changed elements as a [Residual]: for
// every base tensor, the flat indices whose bits differ from w0 and, in
// the default [Float32] encoding, the trained VALUES w at those indices.
// Storing w rather than w − w0 makes loading exact: w0 + (w − w0) rounded
// to float32 is not always w, while writing w back is. The [Float16]
// encoding stores the differences instead, as binary16 scaled by a power of
// two per tensor, at about two thirds of the size, and is lossy. Tensors that are
// not part of the base (the task head) are stored whole as dense tensors.
//
// A [Base] holds one copy of the base weights; [Base.Apply] writes a
// residual into it in place, after checking the base fingerprint, names,
// shapes and indices, and [Base.Revert] restores the overwritten base
// values bit for bit, so N tasks are evaluated with one model in memory.
//
// # File format, version 1
//
// All integers are little-endian. A uvarint is encoding/binary's unsigned
// varint (7 bits per byte, low bits first), a varint its zig-zag signed
// form. A string is a uvarint byte length followed by that many bytes of
// UTF-8. A shape is a uvarint rank followed by one uvarint per dimension.
//
//	offset  size  field
//	0       4     magic "VLPR"
//	4       2     version, 1
//	6       2     flags: bit 0 set = Float16 encoding (lossy); other bits 0
//	8       8     length of the whole file in bytes, trailer included
//	16      32    base fingerprint (below)
//	48            body
//	end-4   4     CRC-32C (Castagnoli) of every byte before it
//
// The body is three lists, each a uvarint count followed by its items:
//
//	metadata  string key, string value; keys in increasing byte order
//	sparse    string name, shape, uvarint nnz, then
//	            nnz uvarint index gaps: the first flat index, then each
//	              index minus the previous one minus one (so indices are
//	              strictly increasing and neighbours cost one zero byte),
//	            Float32: nnz × 4 bytes, the float32 bits of the trained w;
//	            Float16: varint e, then nnz × 2 bytes, the binary16 of
//	              (w − w0)·2^e, e chosen so the largest |w − w0| of the
//	              tensor scales into [2¹⁴, 2¹⁵) (e = 0 if every
//	              difference is zero; a file with another e, or a
//	              binary16·2^−e that is not a float32, is refused);
//	              loading computes w0 + binary16·2^−e in float32
//	dense     string name, shape, then numel × 4 bytes of float32 bits,
//	          row-major
//
// Sparse names are in increasing byte order, as are dense names, and no
// name appears twice in the file. Flat indices are row-major and less than
// the product of the shape. [Projector.Residual] lists every tensor it
// covers, with nnz 0 for those that did not change.
//
// The base fingerprint is a SHA-256 over
//
//	"vlpuda rst base v1\n"
//	for each base tensor in increasing byte order of names:
//	    string name, shape, SHA-256 of its values as little-endian float32
//	        bits, row-major
//
// The per-tensor hashes let a reader fingerprint a base in parallel.
// Readers check, in this order: magic, version and flags, the file's
// length against the header's (a short file is reported as truncated),
// the checksum, then the structure; [Base.Apply] then checks the fingerprint, that every sparse
// tensor exists in the base and that shapes agree.
//
// An index costs one byte per gap below 128 and two below 16384, so at the
// densities RST produces (0.05–1 % of the backbone) a non-zero costs about
// 5–6 bytes in Float32 (against 20–36 for PyTorch's int64 COO) and 3–4 in
// Float16. Files are written atomically (temporary file, fsync, rename) and
// never replace an existing file unless asked to.
//
// # Files
//
//	project.go      Projector: the τ reset, the density budget, Density
//	residual.go     Residual, Sparse, Tensor, ImageTower, Projector.Residual
//	format.go       Marshal, Unmarshal, WriteFile, ReadFile
//	fingerprint.go  Fingerprint, FingerprintOf
//	apply.go        Base: Apply and Revert
//	summary.go      Inspect, for `vlpuda residual inspect`
package rst
