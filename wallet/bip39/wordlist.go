package bip39

import (
	_ "embed"
	"fmt"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// wordCount is the number of words in every BIP-39 word list.
const wordCount = 2048

// The official word lists from bitcoin/bips, byte for byte (see
// wordlists_test.go for their pinned SHA-256 digests).
var (
	//go:embed wordlists/english.txt
	englishTxt string
	//go:embed wordlists/japanese.txt
	japaneseTxt string
)

// Wordlist is one of the BIP-39 word lists. Its words are held in Unicode
// NFKD form, the form BIP-39 hashes; lookups normalise their argument the
// same way.
type Wordlist struct {
	name  string
	sep   string // separator between words of a mnemonic in this language
	words []string
	index map[string]int
}

// English is the official BIP-39 English word list.
var English = mustLoad("english", " ", englishTxt)

// Japanese is the official BIP-39 Japanese word list. Mnemonics in it are
// written with U+3000 IDEOGRAPHIC SPACE between the words.
var Japanese = mustLoad("japanese", "\u3000", japaneseTxt)

// wordlists is the order in which EntropyFromMnemonic tries the lists when
// asked to detect the language.
var wordlists = []*Wordlist{English, Japanese}

// Name returns the lower-case name of the list's language, e.g. "english".
func (wl *Wordlist) Name() string { return wl.name }

// Word returns the word with index i (0 to 2047) in NFKD form, or "" if i is
// out of range.
func (wl *Wordlist) Word(i int) string {
	if i < 0 || i >= len(wl.words) {
		return ""
	}
	return wl.words[i]
}

// Index returns the index of word in the list and true, or 0 and false if the
// word is not in the list. The word is NFKD-normalised before the lookup, so
// composed and decomposed spellings of the same word are both found.
func (wl *Wordlist) Index(word string) (int, bool) {
	i, ok := wl.index[norm.NFKD.String(word)]
	return i, ok
}

// mustLoad parses an embedded word list: exactly 2048 lines, each ending in
// '\n', no blank lines, no surrounding white space, and all distinct after
// NFKD. The lists are compiled in, so a violation is a build defect.
func mustLoad(name, sep, txt string) *Wordlist {
	wl, err := load(name, sep, txt)
	if err != nil {
		panic(err)
	}
	return wl
}

func load(name, sep, txt string) (*Wordlist, error) {
	if !strings.HasSuffix(txt, "\n") {
		return nil, fmt.Errorf("bip39: %s word list does not end in a newline", name)
	}
	lines := strings.Split(strings.TrimSuffix(txt, "\n"), "\n")
	if len(lines) != wordCount {
		return nil, fmt.Errorf("bip39: %s word list has %d lines, want %d", name, len(lines), wordCount)
	}
	wl := &Wordlist{
		name:  name,
		sep:   sep,
		words: make([]string, wordCount),
		index: make(map[string]int, wordCount),
	}
	for i, line := range lines {
		w := norm.NFKD.String(line)
		if w == "" || strings.TrimSpace(w) != w || strings.ContainsFunc(w, isSpace) {
			return nil, fmt.Errorf("bip39: %s word list line %d is blank or contains white space", name, i+1)
		}
		if _, dup := wl.index[w]; dup {
			return nil, fmt.Errorf("bip39: %s word list line %d repeats an earlier word", name, i+1)
		}
		wl.words[i] = w
		wl.index[w] = i
	}
	return wl, nil
}
