package faiss

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"time"
	"unsafe"
)

// Meta describes what an index was built from. An index file is only usable
// with the embedder, dimension and vocabulary it was built with, and its
// search results (vector positions) only mean something with its concept
// order.
type Meta struct {
	// EmbedderID is the ID of the embedder that made the vectors.
	EmbedderID string `json:"embedder_id"`
	// Dim is the vector dimension.
	Dim int `json:"dim"`
	// VocabularyFingerprint identifies the vocabulary release and the set of
	// concepts indexed, as the caller computes it.
	VocabularyFingerprint string `json:"vocabulary_fingerprint"`
	// ConceptIDs[i] is the concept of vector position i. Save stores it in a
	// sidecar file, not in the JSON.
	ConceptIDs []int64 `json:"-"`

	// Kind and the parameters below are the index's; Save takes them from
	// the index, not from its argument.
	Kind      Kind `json:"kind"`
	Count     int  `json:"count"`
	NList     int  `json:"nlist,omitempty"`
	NProbe    int  `json:"nprobe,omitempty"`
	TrainSize int  `json:"train_size,omitempty"`
	// CreatedAt is when the index was built.
	CreatedAt time.Time `json:"created_at"`
}

// The files of a saved index at path: FAISS's own file at path, and beside it
// the metadata and the concept order.
const (
	metaSuffix = ".meta.json"
	idsSuffix  = ".ids"
	// metaFormat changes with an incompatible change of the files.
	metaFormat = 1
	idsMagic   = "PFIDS001"
)

// metaFile is the JSON written beside the index. The checksums tie the three
// files together: they are renamed into place one by one, metadata last, so a
// save interrupted between renames is detected at Load.
type metaFile struct {
	Format int `json:"format"`
	Meta
	IndexCRC32C uint32 `json:"index_crc32c"`
	IDsCRC32C   uint32 `json:"ids_crc32c"`
}

// ErrMismatch matches (with errors.Is) Load's error when the saved index was
// built with another embedder, dimension or vocabulary than expected; the
// error's own message says which.
var ErrMismatch = errors.New("faiss: index does not match")

type mismatchError string

func (e mismatchError) Error() string        { return string(e) }
func (e mismatchError) Is(target error) bool { return target == ErrMismatch }

func mismatch(format string, args ...any) error {
	return mismatchError(fmt.Sprintf(format, args...))
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Save writes the index to path, with meta's embedder, vocabulary and concept
// order in two files beside it (path+".meta.json", path+".ids"). Each file is
// written under a temporary name, synced and renamed over the old one, the
// metadata last; Load notices a set left mixed by a crash. meta.ConceptIDs
// must have one entry per vector; meta.Dim must be 0 or Dim.
func (x *Index) Save(path string, meta Meta) error {
	if len(meta.ConceptIDs) != x.n {
		return fmt.Errorf("faiss: %d concept ids for %d vectors", len(meta.ConceptIDs), x.n)
	}
	if meta.Dim != 0 && meta.Dim != x.dim {
		return fmt.Errorf("faiss: meta has dimension %d, index %d", meta.Dim, x.dim)
	}
	m := x.Meta()
	m.EmbedderID, m.VocabularyFingerprint, m.ConceptIDs = meta.EmbedderID, meta.VocabularyFingerprint, meta.ConceptIDs
	if !meta.CreatedAt.IsZero() {
		m.CreatedAt = meta.CreatedAt
	}

	x.mu.RLock()
	indexTmp, indexCRC, err := x.writeIndexTemp(path)
	x.mu.RUnlock()
	if err != nil {
		return err
	}
	defer os.Remove(indexTmp) // a no-op once renamed

	var ids bytes.Buffer
	ids.WriteString(idsMagic)
	ids.Write(binary.AppendUvarint(nil, uint64(len(m.ConceptIDs))))
	prev := int64(0)
	for _, id := range m.ConceptIDs {
		// Concept ids are usually in ascending order: deltas are small.
		ids.Write(binary.AppendVarint(nil, id-prev))
		prev = id
	}
	idsTmp, err := writeTemp(path+idsSuffix, ids.Bytes())
	if err != nil {
		return err
	}
	defer os.Remove(idsTmp)

	js, err := json.MarshalIndent(metaFile{
		Format: metaFormat, Meta: m,
		IndexCRC32C: indexCRC, IDsCRC32C: crc32.Checksum(ids.Bytes(), castagnoli),
	}, "", "  ")
	if err != nil {
		return fmt.Errorf("faiss: %w", err)
	}
	metaTmp, err := writeTemp(path+metaSuffix, append(js, '\n'))
	if err != nil {
		return err
	}
	defer os.Remove(metaTmp)

	for _, r := range [][2]string{{indexTmp, path}, {idsTmp, path + idsSuffix}, {metaTmp, path + metaSuffix}} {
		if err := os.Rename(r[0], r[1]); err != nil {
			return fmt.Errorf("faiss: %w", err)
		}
	}
	return syncDir(filepath.Dir(path))
}

// writeIndexTemp has FAISS write the index to a temporary file beside path,
// syncs it, and returns its name and checksum.
func (x *Index) writeIndexTemp(path string) (string, uint32, error) {
	if x.c == nil {
		return "", 0, errors.New("faiss: index is closed")
	}
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", 0, fmt.Errorf("faiss: %w", err)
	}
	tmp := f.Name()
	f.Close()
	cpath := C.CString(tmp)
	defer C.free(unsafe.Pointer(cpath))
	if err := cerr(C.pf_write(x.c, cpath)); err != nil {
		os.Remove(tmp)
		return "", 0, fmt.Errorf("faiss: writing %s: %w", tmp, err)
	}
	crc, err := checksumAndSync(tmp)
	if err != nil {
		os.Remove(tmp)
		return "", 0, err
	}
	return tmp, crc, nil
}

// Load reads the index saved at path and checks it against expect: a
// non-empty EmbedderID or VocabularyFingerprint, or a non-zero Dim, must
// equal the saved one, else the error says which differs and matches
// ErrMismatch. It also fails when the files are missing, damaged or from
// different saves. The loaded Meta, concept order included, is x.Meta().
func Load(path string, expect Meta) (*Index, error) {
	mf, err := readMetaFile(path)
	if err != nil {
		return nil, err
	}
	m := mf.Meta
	switch {
	case expect.EmbedderID != "" && m.EmbedderID != expect.EmbedderID:
		return nil, mismatch("faiss: index built with embedder %q, want %q", m.EmbedderID, expect.EmbedderID)
	case expect.Dim != 0 && m.Dim != expect.Dim:
		return nil, mismatch("faiss: index has dimension %d, want %d", m.Dim, expect.Dim)
	case expect.VocabularyFingerprint != "" && m.VocabularyFingerprint != expect.VocabularyFingerprint:
		return nil, mismatch("faiss: index built from vocabulary %q, want %q", m.VocabularyFingerprint, expect.VocabularyFingerprint)
	}

	ids, err := os.ReadFile(path + idsSuffix)
	if err != nil {
		return nil, fmt.Errorf("faiss: %w", err)
	}
	if crc32.Checksum(ids, castagnoli) != mf.IDsCRC32C {
		return nil, fmt.Errorf("faiss: %s does not match %s (damaged, or an interrupted save)", path+idsSuffix, path+metaSuffix)
	}
	if m.ConceptIDs, err = decodeIDs(ids); err != nil {
		return nil, fmt.Errorf("faiss: reading %s: %w", path+idsSuffix, err)
	}
	crc, err := checksum(path)
	if err != nil {
		return nil, err
	}
	if crc != mf.IndexCRC32C {
		return nil, fmt.Errorf("faiss: %s does not match %s (damaged, or an interrupted save)", path, path+metaSuffix)
	}

	x := &Index{searchThreads: 1, meta: m}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	if err := cerr(C.pf_read(cpath, &x.c)); err != nil {
		return nil, fmt.Errorf("faiss: reading %s: %w", path, err)
	}
	var d, kind, nlist C.int
	var ntotal C.int64_t
	C.pf_info(x.c, &d, &ntotal, &kind, &nlist)
	x.dim, x.n = int(d), int(ntotal)
	want := map[Kind]C.int{KindFlat: C.PF_FLAT, KindIVFFlat: C.PF_IVF_FLAT, KindIVFSQ8: C.PF_IVF_SQ8}[m.Kind]
	if x.dim != m.Dim || x.n != m.Count || x.n != len(m.ConceptIDs) || kind != want || int(nlist) != m.NList {
		x.Close()
		return nil, fmt.Errorf("faiss: %s (%d vectors of dimension %d, %d lists) does not match its metadata (%s, %d vectors of dimension %d, %d lists, %d concept ids)",
			path, x.n, x.dim, nlist, m.Kind, m.Count, m.Dim, m.NList, len(m.ConceptIDs))
	}
	x.nprobe.Store(int64(m.NProbe))
	return x, nil
}

// ReadMeta returns the metadata of the index saved at path (without its
// concept order) without loading the index: a cheap way to notice that a
// new index was saved. A missing index gives an error matching
// os.ErrNotExist.
func ReadMeta(path string) (Meta, error) {
	mf, err := readMetaFile(path)
	return mf.Meta, err
}

func readMetaFile(path string) (metaFile, error) {
	js, err := os.ReadFile(path + metaSuffix)
	if err != nil {
		return metaFile{}, fmt.Errorf("faiss: %w", err)
	}
	var mf metaFile
	if err := json.Unmarshal(js, &mf); err != nil {
		return metaFile{}, fmt.Errorf("faiss: reading %s: %w", path+metaSuffix, err)
	}
	if mf.Format != metaFormat {
		return metaFile{}, fmt.Errorf("faiss: %s has format %d, want %d: rebuild the index", path+metaSuffix, mf.Format, metaFormat)
	}
	return mf, nil
}

func decodeIDs(b []byte) ([]int64, error) {
	if !bytes.HasPrefix(b, []byte(idsMagic)) {
		return nil, errors.New("not a concept id file")
	}
	r := bytes.NewReader(b[len(idsMagic):])
	n, err := binary.ReadUvarint(r)
	if err != nil || n > uint64(len(b)) {
		return nil, errors.New("bad concept id count")
	}
	ids := make([]int64, n)
	prev := int64(0)
	for i := range ids {
		d, err := binary.ReadVarint(r)
		if err != nil {
			return nil, fmt.Errorf("concept id %d: %w", i, err)
		}
		prev += d
		ids[i] = prev
	}
	if r.Len() != 0 {
		return nil, errors.New("trailing bytes")
	}
	return ids, nil
}

// writeTemp writes data to a synced temporary file beside path.
func writeTemp(path string, data []byte) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("faiss: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("faiss: %w", err)
	}
	return f.Name(), nil
}

func checksum(path string) (uint32, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("faiss: %w", err)
	}
	defer f.Close()
	h := crc32.New(castagnoli)
	if _, err := io.Copy(h, bufio.NewReaderSize(f, 1<<20)); err != nil {
		return 0, fmt.Errorf("faiss: reading %s: %w", path, err)
	}
	return h.Sum32(), nil
}

// checksumAndSync checksums a file FAISS wrote and flushes it to disk.
func checksumAndSync(path string) (uint32, error) {
	crc, err := checksum(path)
	if err != nil {
		return 0, err
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, fmt.Errorf("faiss: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("faiss: %w", err)
	}
	return crc, nil
}

// syncDir makes the renames in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("faiss: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("faiss: %w", err)
	}
	return nil
}
