package tokenizer

import (
	"html"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// clean prepares text for splitting the way simple_tokenizer.py does:
// ftfy.fix_text (here fixText, a subset), html.unescape twice, collapse
// whitespace runs to one space, trim, and lower-case like Python's str.lower.
// Invalid UTF-8 bytes, which a Python str cannot hold, become U+FFFD first.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = fixText(s)
	s = html.UnescapeString(html.UnescapeString(s))
	s = collapseSpace(s)
	return pyLower(s)
}

// isPySpace reports whether Python's str.isspace is true for r, which is
// what the \s of Python's re module matches in a str pattern. It is
// unicode.IsSpace plus the separators U+001C..U+001F.
func isPySpace(r rune) bool {
	return unicode.IsSpace(r) || 0x1c <= r && r <= 0x1f
}

// collapseSpace replaces every run of whitespace with one space and trims
// both ends: re.sub(r'\s+', ' ', text).strip().
func collapseSpace(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if isPySpace(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// pyLower lower-cases s like Python's str.lower: the simple lower-case
// mapping, except that U+0130 (İ) becomes "i̇" (its full mapping) and a
// capital sigma at the end of a word becomes final sigma (ς).
func pyLower(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	rs := []rune(s)
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range rs {
		switch r {
		case 'İ':
			b.WriteString("i\u0307")
		case 'Σ':
			if finalSigma(rs, i) {
				b.WriteRune('ς')
			} else {
				b.WriteRune('σ')
			}
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// finalSigma reports whether the capital sigma at rs[i] is in Unicode's
// Final_Sigma context: a cased letter before it and none after it, skipping
// case-ignorable characters on both sides.
func finalSigma(rs []rune, i int) bool {
	j := i - 1
	for j >= 0 && isCaseIgnorable(rs[j]) {
		j--
	}
	if j < 0 || !isCased(rs[j]) {
		return false
	}
	j = i + 1
	for j < len(rs) && isCaseIgnorable(rs[j]) {
		j++
	}
	return j == len(rs) || !isCased(rs[j])
}

func isCased(r rune) bool {
	return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) ||
		unicode.Is(unicode.Other_Lowercase, r) || unicode.Is(unicode.Other_Uppercase, r)
}

// isCaseIgnorable approximates Unicode's Case_Ignorable property: marks,
// format characters, modifier letters and symbols, and the word-internal
// punctuation of Word_Break MidLetter, MidNumLet and Single_Quote.
func isCaseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', '·', 0x0387, 0x055f, 0x05f4, 0x2018, 0x2019, 0x2024, 0x2027,
		0xfe13, 0xfe52, 0xfe55, 0xff07, 0xff0e, 0xff1a:
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}

// fixText applies the parts of ftfy.fix_text (ftfy 6, default settings) that
// a tokenizer meets in practice, line by line and each line until it stops
// changing, as ftfy does:
//
//   - HTML entities of the form &name; or &#n; are decoded, unless the text
//     contains '<' (ftfy then assumes it is HTML and leaves entities alone);
//   - UTF-8 that was decoded as Windows-1252 or Latin-1 (mojibake such as
//     "schÃ¶n" or "doesnÃ¢â‚¬â„¢t") is re-decoded;
//   - C1 control characters become their Windows-1252 characters;
//   - Latin ligatures (ﬁ, ĳ, ...) are expanded and full-width forms and
//     U+3000 are narrowed;
//   - curly quotes become straight ones;
//   - line breaks are normalised and control characters, ANSI terminal
//     escapes and the byte-order mark are removed;
//   - the result is put in Unicode normal form NFC.
//
// What it does not do: ftfy decides whether to repair mojibake by scoring
// the whole text, and also knows MacRoman, cp437 and other encodings; this
// function repairs any run of Windows-1252/Latin-1 characters that spells a
// valid multi-byte UTF-8 sequence, and nothing else. Text that really means
// "Ã©" is therefore changed where ftfy might keep it, and mojibake from
// other encodings is kept where ftfy might fix it.
func fixText(s string) string {
	unescape := true
	var out strings.Builder
	out.Grow(len(s))
	for len(s) > 0 {
		line := s
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			line = s[:i+1]
		}
		s = s[len(line):]
		// ftfy stops unescaping for the rest of the text once a line holds '<'.
		if strings.Contains(line, "<") {
			unescape = false
		}
		out.WriteString(fixLine(line, unescape))
	}
	return out.String()
}

// fixLine applies fixText's steps to one line until it no longer changes.
func fixLine(s string, unescape bool) string {
	if plainASCII(s) {
		return s
	}
	for range 16 {
		prev := s
		if unescape {
			s = unescapeEntities(s)
		}
		s = fixMojibake(s)
		s = removeTerminalEscapes(s)
		s = replaceLineBreaks(s)
		s = mapRunes(s, fixRune)
		s = norm.NFC.String(s)
		if s == prev {
			break
		}
	}
	return s
}

// plainASCII reports whether s holds only printable ASCII, tabs and
// newlines and no '&': text that no step of fixText changes.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 0x20 || c > 0x7e || c == '&') && c != '\t' && c != '\n' {
			return false
		}
	}
	return true
}

// unescapeEntities decodes each "&name;" or "&#n;" (1 to 24 letters or
// digits) that is a complete HTML entity, leaving anything else as it is.
func unescapeEntities(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '&')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		s = s[i:]
		n := 1
		if n < len(s) && s[n] == '#' {
			n++
		}
		start := n
		for n < len(s) && n-start < 24 && isASCIIAlnum(s[n]) {
			n++
		}
		if n == start || n >= len(s) || s[n] != ';' {
			b.WriteByte('&')
			s = s[1:]
			continue
		}
		entity := s[:n+1]
		// html.UnescapeString also accepts a prefix without ';' ("&ampx;" →
		// "&x;"); a leftover ';' shows the entity was not complete.
		if u := html.UnescapeString(entity); u != entity && (!strings.HasSuffix(u, ";") || u == ";") {
			b.WriteString(u)
		} else {
			b.WriteString(entity)
		}
		s = s[n+1:]
	}
}

func isASCIIAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// cp1252 gives the characters of Windows-1252 bytes 0x80..0x9F. The five
// bytes the code page leaves undefined map to the C1 control of the same
// value, as in ftfy's "sloppy" codec; every byte from 0xA0 is Latin-1.
var cp1252 = [32]rune{
	'€', 0x81, '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', 0x8d, 'Ž', 0x8f,
	0x90, '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', 0x9d, 'ž', 'Ÿ',
}

// cp1252Byte returns the Windows-1252 (or, for C1 controls, Latin-1) byte
// that decodes to r.
func cp1252Byte(r rune) (byte, bool) {
	if 0x80 <= r && r <= 0xff {
		return byte(r), true
	}
	for i, c := range cp1252 {
		if c == r {
			return byte(0x80 + i), true
		}
	}
	return 0, false
}

// fixMojibake re-decodes each run of Windows-1252/Latin-1 characters that
// encodes one valid multi-byte UTF-8 sequence: a lead byte 0xC2..0xF4
// followed by its continuation bytes 0x80..0xBF.
func fixMojibake(s string) string {
	rs := []rune(s)
	changed := false
	out := make([]rune, 0, len(rs))
	for i := 0; i < len(rs); i++ {
		lead, ok := cp1252Byte(rs[i])
		n := 0
		switch {
		case !ok:
		case 0xc2 <= lead && lead <= 0xdf:
			n = 1
		case 0xe0 <= lead && lead <= 0xef:
			n = 2
		case 0xf0 <= lead && lead <= 0xf4:
			n = 3
		}
		if n == 0 || i+n >= len(rs) {
			out = append(out, rs[i])
			continue
		}
		seq := []byte{lead}
		for _, r := range rs[i+1 : i+1+n] {
			c, ok := cp1252Byte(r)
			if !ok || c < 0x80 || c > 0xbf {
				break
			}
			seq = append(seq, c)
		}
		r, size := utf8.DecodeRune(seq)
		if len(seq) != n+1 || r == utf8.RuneError || size != len(seq) {
			out = append(out, rs[i])
			continue
		}
		out = append(out, r)
		i += n
		changed = true
	}
	if !changed {
		return s
	}
	return string(out)
}

// fixRune is the per-character part of fixText: C1 controls, ligatures,
// widths, quotes and control characters. It returns "" to delete r, and
// reports false to keep r.
func fixRune(r rune) (string, bool) {
	switch {
	case 0x80 <= r && r <= 0x9f:
		if c := cp1252[r-0x80]; c != r {
			return string(c), true
		}
	case r == 0x02bc || 0x2018 <= r && r <= 0x201b:
		return "'", true
	case 0x201c <= r && r <= 0x201f:
		return `"`, true
	case r == 0x3000:
		return " ", true
	case 0xff01 <= r && r <= 0xffef, isLigature(r):
		if k := norm.NFKC.String(string(r)); k != string(r) {
			return k, true
		}
	case r <= 0x08, r == 0x0b, 0x0e <= r && r <= 0x1f, r == 0x7f,
		0x206a <= r && r <= 0x206f, r == 0xfeff, 0xfff9 <= r && r <= 0xfffc:
		return "", true
	}
	return "", false
}

// isLigature reports whether r is one of the Latin ligatures ftfy expands:
// the digraphs Ĳ ĳ ŉ Ǆ..ǌ Ǳ..ǳ and the presentation forms ﬀ..ﬆ.
func isLigature(r rune) bool {
	return r == 'Ĳ' || r == 'ĳ' || r == 'ŉ' || 0x01c4 <= r && r <= 0x01cc ||
		0x01f1 <= r && r <= 0x01f3 || 0xfb00 <= r && r <= 0xfb06
}

// mapRunes returns s with each rune r replaced by f(r) where f reports true.
func mapRunes(s string, f func(rune) (string, bool)) string {
	for i, r := range s {
		if _, ok := f(r); !ok {
			continue
		}
		var b strings.Builder
		b.Grow(len(s))
		b.WriteString(s[:i])
		for _, r := range s[i:] {
			if rep, ok := f(r); ok {
				b.WriteString(rep)
			} else {
				b.WriteRune(r)
			}
		}
		return b.String()
	}
	return s
}

// replaceLineBreaks turns "\r\n", "\r", U+0085, U+2028 and U+2029 into "\n".
func replaceLineBreaks(s string) string {
	if !strings.ContainsAny(s, "\r\u0085\u2028\u2029") {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.NewReplacer("\r", "\n", "\u0085", "\n", "\u2028", "\n", "\u2029", "\n").Replace(s)
}

// removeTerminalEscapes deletes ANSI escape sequences: ESC '[' then digits
// and semicolons, then one letter.
func removeTerminalEscapes(s string) string {
	if !strings.Contains(s, "\x1b[") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "\x1b[")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := i + 2
		for j < len(s) && (s[j] == ';' || '0' <= s[j] && s[j] <= '9') {
			j++
		}
		if j < len(s) && ('a' <= s[j] && s[j] <= 'z' || 'A' <= s[j] && s[j] <= 'Z') {
			b.WriteString(s[:i])
			s = s[j+1:]
			continue
		}
		b.WriteString(s[:i+1])
		s = s[i+1:]
	}
}
