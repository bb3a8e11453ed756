package embed

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// maxWordChars is BERT's max_input_chars_per_word: a longer word becomes one
// [UNK] rather than a long run of pieces.
const maxWordChars = 100

// WordPiece is BERT's uncased tokenizer (do_lower_case=true): the
// BasicTokenizer's cleaning, accent stripping, lower-casing and splitting on
// whitespace, punctuation and CJK characters, then greedy longest-match-first
// WordPiece with "##" continuations. It gives the ids HuggingFace's
// BertWordPieceTokenizer gives for the same vocab.txt, except for the final
// form of Greek sigma, which Go's lower-casing does not produce.
//
// A WordPiece is immutable and safe for concurrent use.
type WordPiece struct {
	vocab map[string]int64
	byID  []string
	unk   int64
	cls   int64
	sep   int64
	pad   int64
}

// LoadWordPiece reads a BERT vocab.txt: one token per line, the line number
// (from 0) being its id. The vocabulary must contain [UNK], [CLS], [SEP] and
// [PAD].
func LoadWordPiece(path string) (*WordPiece, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	defer f.Close()
	wp := &WordPiece{vocab: make(map[string]int64, 32000)}
	sc := bufio.NewScanner(f)
	var id int64
	for sc.Scan() {
		tok := strings.TrimRight(sc.Text(), "\r")
		// A token listed twice keeps its first id, as HuggingFace's loader does.
		if _, dup := wp.vocab[tok]; !dup {
			wp.vocab[tok] = id
		}
		wp.byID = append(wp.byID, tok)
		id++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("embed: reading %s: %w", path, err)
	}
	for _, sp := range []struct {
		tok string
		dst *int64
	}{{"[UNK]", &wp.unk}, {"[CLS]", &wp.cls}, {"[SEP]", &wp.sep}, {"[PAD]", &wp.pad}} {
		id, ok := wp.vocab[sp.tok]
		if !ok {
			return nil, fmt.Errorf("embed: vocabulary %s has no %s token", path, sp.tok)
		}
		*sp.dst = id
	}
	return wp, nil
}

// PadID is the id of [PAD].
func (wp *WordPiece) PadID() int64 { return wp.pad }

// Encode returns the ids of [CLS], the word pieces of text and [SEP],
// keeping at most maxLen ids in all: pieces past maxLen-2 are dropped, as
// HuggingFace's truncation does. maxLen ≤ 0 means no limit; otherwise it must
// be at least 2.
func (wp *WordPiece) Encode(text string, maxLen int) []int64 {
	ids := []int64{wp.cls}
	for _, word := range basicTokenize(text) {
		ids = wp.appendWord(ids, word)
		if maxLen > 0 && len(ids) >= maxLen-1 {
			ids = ids[:maxLen-1]
			break
		}
	}
	return append(ids, wp.sep)
}

// Tokens returns the word pieces of text, without [CLS] and [SEP].
func (wp *WordPiece) Tokens(text string) []string {
	ids := wp.Encode(text, 0)
	toks := make([]string, 0, len(ids)-2)
	for _, id := range ids[1 : len(ids)-1] {
		toks = append(toks, wp.byID[id])
	}
	return toks
}

// appendWord appends the pieces of one word: the longest prefix in the
// vocabulary, then the longest "##"-prefixed continuation, and so on; a word
// with any part that matches nothing becomes a single [UNK].
func (wp *WordPiece) appendWord(ids []int64, word string) []int64 {
	if utf8.RuneCountInString(word) > maxWordChars {
		return append(ids, wp.unk)
	}
	mark := len(ids)
	var key strings.Builder
	for start := 0; start < len(word); {
		end := len(word)
		found := int64(-1)
		for start < end {
			key.Reset()
			if start > 0 {
				key.WriteString("##")
			}
			key.WriteString(word[start:end])
			if id, ok := wp.vocab[key.String()]; ok {
				found = id
				break
			}
			_, size := utf8.DecodeLastRuneInString(word[start:end])
			end -= size
		}
		if found < 0 {
			return append(ids[:mark], wp.unk)
		}
		ids = append(ids, found)
		start = end
	}
	return ids
}

// basicTokenize is BERT's BasicTokenizer with lower-casing, in HuggingFace's
// order: drop control characters and map whitespace to spaces, put spaces
// around CJK ideographs, strip accents (NFD, then drop nonspacing marks),
// lower-case, split on whitespace, then split off each punctuation character.
func basicTokenize(text string) []string {
	var b strings.Builder
	b.Grow(len(text))
	for _, r := range text {
		switch {
		case r == 0 || r == utf8.RuneError || isBertControl(r):
		case unicode.IsSpace(r):
			b.WriteByte(' ')
		case isCJK(r):
			b.WriteByte(' ')
			b.WriteRune(r)
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	var folded strings.Builder
	folded.Grow(b.Len())
	for _, r := range norm.NFD.String(b.String()) {
		if !unicode.Is(unicode.Mn, r) {
			folded.WriteRune(r)
		}
	}
	lower := strings.ToLower(folded.String())

	var words []string
	for _, field := range strings.FieldsFunc(lower, unicode.IsSpace) {
		start := 0
		for i, r := range field {
			if isBertPunct(r) {
				if start < i {
					words = append(words, field[start:i])
				}
				words = append(words, field[i:i+utf8.RuneLen(r)])
				start = i + utf8.RuneLen(r)
			}
		}
		if start < len(field) {
			words = append(words, field[start:])
		}
	}
	return words
}

// isBertControl reports the characters BERT's cleaning drops: Unicode "other"
// categories (Cc, Cf, Co, Cs and unassigned), except tab, newline and
// carriage return, which count as whitespace.
func isBertControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs) {
		return true
	}
	return !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z)
}

// isBertPunct is BERT's punctuation: all ASCII non-alphanumeric printable
// characters (so "$", "+", "^" count) and Unicode category P.
func isBertPunct(r rune) bool {
	if r >= 33 && r <= 47 || r >= 58 && r <= 64 || r >= 91 && r <= 96 || r >= 123 && r <= 126 {
		return true
	}
	return unicode.IsPunct(r)
}

// isCJK reports the CJK Unified Ideographs blocks BERT splits into single
// characters. The ranges are HuggingFace tokenizers' (its extension-E range
// starts at U+2B920, not U+2B820 as in Google's original).
func isCJK(r rune) bool {
	return r >= 0x4E00 && r <= 0x9FFF ||
		r >= 0x3400 && r <= 0x4DBF ||
		r >= 0x20000 && r <= 0x2A6DF ||
		r >= 0x2A700 && r <= 0x2B73F ||
		r >= 0x2B740 && r <= 0x2B81F ||
		r >= 0x2B920 && r <= 0x2CEAF ||
		r >= 0xF900 && r <= 0xFAFF ||
		r >= 0x2F800 && r <= 0x2FA1F
}
