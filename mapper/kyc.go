package mapper

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// DocumentKind is what a KYC document proves.
type DocumentKind string

// The KYC document kinds.
const (
	KindGovernmentID           DocumentKind = "government_id"
	KindProfessionalCredential DocumentKind = "professional_credential"
)

// Valid reports whether k is a known kind.
func (k DocumentKind) Valid() bool {
	return k == KindGovernmentID || k == KindProfessionalCredential
}

// Label is the kind in words.
func (k DocumentKind) Label() string {
	switch k {
	case KindGovernmentID:
		return "Government-issued ID"
	case KindProfessionalCredential:
		return "Professional credential"
	}
	return string(k)
}

// DefaultMaxDocumentBytes bounds a KYC document when not configured: a
// phone photo or a scanned PDF.
const DefaultMaxDocumentBytes = 10 << 20

// documentTypes are the content types a KYC document may have, as sniffed
// from its bytes (never the name or the header the browser sent).
var documentTypes = map[string]bool{
	"image/jpeg": true, "image/png": true, "image/webp": true, "application/pdf": true,
}

// SniffDocument returns the content type of a KYC document, sniffed from
// its first bytes, or an error wrapping ErrInvalid when it is not a JPEG,
// PNG, WebP image or PDF.
func SniffDocument(content []byte) (string, error) {
	if len(content) == 0 {
		return "", fmt.Errorf("%w: the file is empty", ErrInvalid)
	}
	ct := http.DetectContentType(content)
	if !documentTypes[ct] {
		return "", fmt.Errorf("%w: the file is %s; upload a JPEG, PNG or WebP photo or a PDF", ErrInvalid, ct)
	}
	return ct, nil
}

// Document is one KYC document. Sealed holds the AES-GCM ciphertext
// (nonce first) under key KeyID; it is filled only by Store.Document.
type Document struct {
	ID          string // "doc_" + random hex
	MapperID    string
	Kind        DocumentKind
	ContentType string // sniffed
	Size        int64  // plaintext bytes
	KeyID       string
	Sealed      []byte
	UploadedAt  time.Time
}

// Key is one AES-256 key for KYC documents, named so a document records
// which key sealed it.
type Key struct {
	ID  string
	Key []byte // 32 bytes
}

// Sealer encrypts KYC documents with AES-256-GCM. The first key seals;
// every key opens what it sealed, so a new key can be put first while
// documents sealed with the old ones stay readable until resealed
// (Service.Reseal). It is safe for concurrent use.
type Sealer struct {
	keys    []Key
	aeads   map[string]cipher.AEAD
	current string
}

// NewSealer returns a Sealer over keys, the first being the one that seals.
// It fails on no keys, a key not 32 bytes long, or a repeated id.
func NewSealer(keys []Key) (*Sealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("mapper: no KYC encryption key configured")
	}
	s := &Sealer{keys: keys, aeads: map[string]cipher.AEAD{}, current: keys[0].ID}
	for _, k := range keys {
		if k.ID == "" {
			return nil, errors.New("mapper: a KYC encryption key has no id")
		}
		if len(k.Key) != 32 {
			return nil, fmt.Errorf("mapper: KYC encryption key %q is %d bytes, want 32", k.ID, len(k.Key))
		}
		if _, dup := s.aeads[k.ID]; dup {
			return nil, fmt.Errorf("mapper: KYC encryption key id %q is repeated", k.ID)
		}
		block, err := aes.NewCipher(k.Key)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		s.aeads[k.ID] = aead
	}
	return s, nil
}

// Current is the id of the key that seals.
func (s *Sealer) Current() string { return s.current }

// Seal encrypts plaintext under the current key, binding it to aad (the
// document's id and owner, so a sealed blob moved to another row does not
// open). It returns the key id and nonce‖ciphertext.
func (s *Sealer) Seal(plaintext, aad []byte) (keyID string, sealed []byte) {
	aead := s.aeads[s.current]
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	return s.current, aead.Seal(nonce, nonce, plaintext, aad)
}

// Open decrypts what key keyID sealed with aad. An unknown key id or a
// blob that fails authentication is an error.
func (s *Sealer) Open(keyID string, sealed, aad []byte) ([]byte, error) {
	aead, ok := s.aeads[keyID]
	if !ok {
		return nil, fmt.Errorf("mapper: KYC document sealed with key %q, which is not configured (keep old keys in MAPPER_KYC_KEYS until resealed)", keyID)
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("mapper: sealed KYC document is truncated")
	}
	pt, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], aad)
	if err != nil {
		return nil, fmt.Errorf("mapper: KYC document does not decrypt with key %q: %w", keyID, err)
	}
	return pt, nil
}

// documentAAD binds a sealed document to its id and owner.
func documentAAD(d Document) []byte { return []byte(d.ID + "|" + d.MapperID + "|" + string(d.Kind)) }
