package pretrain

import (
	"fmt"
	"strings"
	"unicode"
)

// Kind says what sort of character a class is.
type Kind int

// The kinds of character in the corpus.
const (
	Digit Kind = iota
	Letter
	Symbol
)

// String returns "number", "letter" or "symbol", the word the captions use.
func (k Kind) String() string {
	switch k {
	case Digit:
		return "number"
	case Letter:
		return "letter"
	case Symbol:
		return "symbol"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Class is one character class of the corpus.
type Class struct {
	// Name is what captions put between quotes: the digit, the lower-case
	// letter or the symbol.
	Name string
	Kind Kind
	// Runes are the characters drawn for the class: one, or a letter's
	// lower and upper case.
	Runes []rune
}

// Prompt is the zero-shot prompt template of the digits benchmark with
// its closing full stop, as the issue gives it; "{}" stands for the digit.
// Training captions use it for most digits, and the gate uses it.
const Prompt = `a photo of the number: "{}".`

// The characters of each kind. Letters leave out i, l and o, which many
// faces draw like 1 and 0; symbols leave out those that are mostly a
// vertical bar (| ! ' , . :) for the same reason.
const (
	digitChars  = "0123456789"
	letterChars = "abcdefghjkmnpqrstuvwxyz"
	symbolChars = "%+=?#$&@*/<>()[]{}~^"
)

// Classes returns the corpus classes in label order: the digits 0 to 9
// (so a digit's label is its value), then the letters, then the symbols.
func Classes() []Class {
	var cs []Class
	for _, r := range digitChars {
		cs = append(cs, Class{Name: string(r), Kind: Digit, Runes: []rune{r}})
	}
	for _, r := range letterChars {
		cs = append(cs, Class{Name: string(r), Kind: Letter, Runes: []rune{r, unicode.ToUpper(r)}})
	}
	for _, r := range symbolChars {
		cs = append(cs, Class{Name: string(r), Kind: Symbol, Runes: []rune{r}})
	}
	return cs
}

// template is an identity caption with %s for the class name, and its
// weight among the templates of its kind.
type template struct {
	text   string
	weight float64
}

// identityTemplates are the captions that name only the character, per
// kind. The zero-shot prompt form comes first and most often, with and
// without its full stop, so that both spellings of the demo's prompt mean
// the digit.
var identityTemplates = map[Kind][]template{
	Digit: {
		{`a photo of the number: "%s".`, 0.45},
		{`a photo of the number: "%s"`, 0.15},
		{`the number "%s"`, 0.15},
		{`the digit "%s"`, 0.15},
		{`a rendering of the number "%s".`, 0.10},
	},
	Letter: {
		{`a photo of the letter: "%s".`, 0.45},
		{`a photo of the letter: "%s"`, 0.15},
		{`the letter "%s"`, 0.25},
		{`a rendering of the letter "%s".`, 0.15},
	},
	Symbol: {
		{`a photo of the symbol: "%s".`, 0.45},
		{`a photo of the symbol: "%s"`, 0.15},
		{`the symbol "%s"`, 0.25},
		{`a rendering of the symbol "%s".`, 0.15},
	},
}

// identityCaption fills template t of class c's kind.
func identityCaption(c Class, t int) string {
	return fmt.Sprintf(identityTemplates[c.Kind][t].text, c.Name)
}

// attributeCaption names the character with template t, then the ink
// colour and the background: `the letter "k" in red on a blue background.`
func attributeCaption(c Class, t int, ink string, bg background) string {
	s := strings.TrimSuffix(identityCaption(c, t), ".")
	return fmt.Sprintf("%s in %s on %s.", s, ink, bg.words())
}
