package tokenizer

import "testing"

// TestFixText covers ftfy behaviours that the golden strings do not reach.
func TestFixText(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "a photo of a dog.", "a photo of a dog."},
		{"entity", "Tom &amp; Jerry", "Tom & Jerry"},
		{"entities left alone in HTML", "<b>&amp;</b>", "<b>&amp;</b>"},
		{"HTML seen on an earlier line", "<p>\n&amp;", "<p>\n&amp;"},
		{"incomplete entity", "&ampx; &amp", "&ampx; &amp"},
		{"numeric entity", "&#233;t&#xE9;", "été"},
		{"double mojibake", "doesnÃ¢â‚¬â„¢t", "doesn't"},
		{"mojibake with C1 control", "â€œhiâ€\u009d", `"hi"`},
		{"latin-1 word kept", "café", "café"},
		{"lone lead byte kept", "Ã and", "Ã and"},
		{"C1 control to cp1252", "\u0080", "€"},
		{"terminal escape", "\x1b[31mred\x1b[0m", "red"},
		{"control chars", "a\x00b\x7fc\u200bd", "abc\u200bd"},
		{"line breaks", "a\r\nb\rc\u2028d", "a\nb\nc\nd"},
		{"ligature", "ﬃ", "ffi"},
		{"fullwidth", "ＡＢ１", "AB1"},
		{"halfwidth katakana", "ｶ", "カ"},
		{"NFC", "e\u0301", "é"},
		{"quotes", "\u201chi\u201d \u2018x\u2019 \u02bc", `"hi" 'x' '`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fixText(tt.in); got != tt.want {
				t.Errorf("fixText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
