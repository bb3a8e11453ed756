package embed

import (
	"context"
	"fmt"
	"math"
	"slices"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// DefaultHashDim is the dimension of a Hash embedder whose options leave Dim
// zero. 384 is SapBERT-small territory: enough buckets that the ~100 features
// of a concept name rarely collide, small enough that 6M vectors fit in memory.
const DefaultHashDim = 384

// hashVersion changes whenever the features or their weights change, because
// every index built with the old ones must then be rebuilt.
const hashVersion = "v1"

// Feature kinds. The kind seeds the feature's hash, so that the word "leg"
// and the trigram "leg" are different features, and picks its weight.
const (
	kindNgram = iota
	kindWord
	kindBigram
)

// kindWeight is the weight of one occurrence of a feature of the kind. A
// word of length L yields about 3L character n-grams, so n-grams carry most
// of a vector's mass and give tolerance to misspellings, inflection and
// compounding; whole words and word pairs add a premium for exact words and
// word order.
func kindWeight(kind uint64) float64 {
	switch kind {
	case kindWord:
		return 2
	case kindBigram:
		return 1.5
	}
	return 1
}

// HashOptions configures a Hash embedder. The zero value is the default.
type HashOptions struct {
	// Dim is the vector dimension; 0 means DefaultHashDim.
	Dim int
}

// Hash is a model-free Embedder: it normalises a text (lower case, accents
// folded, punctuation to spaces, digits split from letters), extracts word
// unigrams, word bigrams and character 3- to 5-grams of each word with
// boundary markers, hashes each feature to a signed bucket (the "hashing
// trick"), weights repeated features sublinearly (1+ln tf) and L2-normalises.
//
// Vectors depend only on the text, the version and Dim, never on a corpus, so
// they are reproducible anywhere. Hash is safe for concurrent use.
type Hash struct {
	dim int
	id  string
}

// NewHash returns a Hash embedder. It fails only for a negative Dim or one
// too small (< 16) to keep features apart.
func NewHash(opts HashOptions) (*Hash, error) {
	dim := opts.Dim
	if dim == 0 {
		dim = DefaultHashDim
	}
	if dim < 16 {
		return nil, fmt.Errorf("embed: hash dimension %d is too small (minimum 16)", dim)
	}
	return &Hash{dim: dim, id: fmt.Sprintf("hash-%s-%d", hashVersion, dim)}, nil
}

// ID is "hash-v1-<dim>".
func (h *Hash) ID() string { return h.id }

// Dim is the vector dimension.
func (h *Hash) Dim() int { return h.dim }

// Embed returns one unit vector per text; see Embedder. The vectors share one
// backing array, so keeping any of them keeps all alive. The only error is
// ctx's.
func (h *Hash) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	flat := make([]float32, len(texts)*h.dim)
	var s hashScratch
	for i, t := range texts {
		// Checking ctx per text would cost more than a short text's embedding.
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		v := flat[i*h.dim : (i+1)*h.dim : (i+1)*h.dim]
		h.embed(&s, t, v)
		out[i] = v
	}
	return out, nil
}

// hashScratch is the per-call working memory, reused across the texts of one
// Embed call so that embedding allocates nothing per text.
type hashScratch struct {
	buf    []byte   // normalised text: words separated by one space
	words  [][2]int // word spans in buf
	padded []byte   // "<word>"
	offs   []int    // rune start offsets in padded, plus len(padded)
	keys   []uint64 // feature hashes, kind in the low two bits
	acc    []float64
	enc    [utf8.UTFMax]byte
	dec    []byte
}

func (h *Hash) embed(s *hashScratch, text string, v []float32) {
	s.normalise(text)
	s.features()
	if cap(s.acc) < h.dim {
		s.acc = make([]float64, h.dim)
	}
	acc := s.acc[:h.dim]
	clear(acc)
	slices.Sort(s.keys)
	for i := 0; i < len(s.keys); {
		j := i + 1
		for j < len(s.keys) && s.keys[j] == s.keys[i] {
			j++
		}
		k := s.keys[i]
		w := kindWeight(k & 3)
		if tf := j - i; tf > 1 {
			w *= 1 + math.Log(float64(tf))
		}
		m := mix64(k)
		bucket := int((m >> 32) * uint64(h.dim) >> 32)
		if m&1 != 0 {
			w = -w
		}
		acc[bucket] += w
		i = j
	}
	var norm2 float64
	for _, x := range acc {
		norm2 += x * x
	}
	if norm2 == 0 {
		clear(v)
		return
	}
	inv := 1 / math.Sqrt(norm2)
	for i, x := range acc {
		v[i] = float32(x * inv)
	}
}

// normalise writes the words of text into s.buf, lower-cased and
// accent-folded, and their spans into s.words. Letters and digits make words;
// everything else separates them, except a '.' or ',' between two digits,
// which stays as a decimal point ("0,1%" and "0.1 %" both give "0.1"). A run
// of digits and a run of letters are separate words ("500mg" → "500 mg"), as
// drug strengths are written both ways.
func (s *hashScratch) normalise(text string) {
	s.buf = s.buf[:0]
	s.words = s.words[:0]
	start := -1
	var prevClass byte // 0 none, 1 letter, 2 digit, in the current word
	endWord := func() {
		if start >= 0 {
			s.words = append(s.words, [2]int{start, len(s.buf)})
			start = -1
			prevClass = 0
		}
	}
	add := func(class byte, b ...byte) {
		if start >= 0 && prevClass != class {
			endWord()
		}
		if start < 0 {
			if len(s.buf) > 0 {
				s.buf = append(s.buf, ' ')
			}
			start = len(s.buf)
		}
		s.buf = append(s.buf, b...)
		prevClass = class
	}
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			switch {
			case 'a' <= c && c <= 'z':
				add(1, c)
			case 'A' <= c && c <= 'Z':
				add(1, c+'a'-'A')
			case '0' <= c && c <= '9':
				add(2, c)
			case (c == '.' || c == ',') && prevClass == 2 && i+1 < len(text) && '0' <= text[i+1] && text[i+1] <= '9':
				s.buf = append(s.buf, '.')
			default:
				endWord()
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		i += size
		if f := foldSpecial(r); f != "" {
			add(1, []byte(f)...)
			continue
		}
		// Decompose so that "é" becomes "e" plus a combining accent, which is
		// then dropped.
		n := utf8.EncodeRune(s.enc[:], r)
		s.dec = norm.NFD.Append(s.dec[:0], s.enc[:n]...)
		for _, d := range string(s.dec) {
			switch {
			case unicode.Is(unicode.Mn, d):
				// an accent: drop it without ending the word
			case unicode.IsLetter(d):
				d = unicode.ToLower(d)
				if d < utf8.RuneSelf {
					add(1, byte(d))
				} else {
					m := utf8.EncodeRune(s.enc[:], d)
					add(1, s.enc[:m]...)
				}
			case unicode.IsDigit(d):
				m := utf8.EncodeRune(s.enc[:], d)
				add(2, s.enc[:m]...)
			default:
				endWord()
			}
		}
	}
	endWord()
}

// foldSpecial folds letters that Unicode does not decompose into a base
// letter plus accents, and the micro sign, which clinical texts use for
// "micro" ("µg" = "ug"). It returns "" for every other rune.
func foldSpecial(r rune) string {
	switch r {
	case 'ß', 'ẞ':
		return "ss"
	case 'æ', 'Æ':
		return "ae"
	case 'œ', 'Œ':
		return "oe"
	case 'ø', 'Ø':
		return "o"
	case 'ł', 'Ł':
		return "l"
	case 'đ', 'Đ', 'ð', 'Ð':
		return "d"
	case 'þ', 'Þ':
		return "th"
	case 'ı':
		return "i"
	case 'µ', 'μ':
		return "u"
	}
	return ""
}

// features fills s.keys from the words in s.buf.
func (s *hashScratch) features() {
	s.keys = s.keys[:0]
	for wi, w := range s.words {
		word := s.buf[w[0]:w[1]]
		s.keys = append(s.keys, featureKey(kindWord, word))
		if wi+1 < len(s.words) {
			// Words are one space apart in buf, so the pair is contiguous.
			s.keys = append(s.keys, featureKey(kindBigram, s.buf[w[0]:s.words[wi+1][1]]))
		}
		s.padded = append(append(append(s.padded[:0], '<'), word...), '>')
		s.offs = s.offs[:0]
		for i := range string(s.padded) {
			s.offs = append(s.offs, i)
		}
		s.offs = append(s.offs, len(s.padded))
		runes := len(s.offs) - 1
		for n := 3; n <= 5; n++ {
			for j := 0; j+n <= runes; j++ {
				s.keys = append(s.keys, featureKey(kindNgram, s.padded[s.offs[j]:s.offs[j+n]]))
			}
		}
	}
}

// featureKey is the 64-bit FNV-1a hash of b, seeded by kind, with the kind in
// the low two bits so that sorting groups equal features of one kind.
func featureKey(kind uint64, b []byte) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037) ^ (kind+1)*0x9e3779b97f4a7c15
	for _, c := range b {
		h ^= uint64(c)
		h *= prime
	}
	return h&^3 | kind
}

// mix64 is MurmurHash3's finaliser: FNV-1a's low bits are weak, and the
// bucket and sign are taken from the bits after mixing.
func mix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
