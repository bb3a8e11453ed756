package athena

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// Release is a vocabulary release in a folder. It only remembers which files
// exist; every read opens the file afresh, so a Release may be read several
// times and by several goroutines at once.
type Release struct {
	fsys  fs.FS
	files map[Table]string // table → file name as found
}

// Open locates the files of the release in folder dir. It fails with
// ErrNoConceptFile when there is no CONCEPT.csv.
func Open(dir string) (*Release, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("athena: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("athena: %s is not a folder", dir)
	}
	return OpenFS(os.DirFS(dir))
}

// OpenFS is Open for the root of fsys, e.g. an embedded release (use fs.Sub
// to point it at a sub-folder).
func OpenFS(fsys fs.FS) (*Release, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("athena: %w", err)
	}
	byName := map[string]Table{}
	for _, t := range Tables() {
		byName[strings.ToUpper(t.FileName())] = t
	}
	r := &Release{fsys: fsys, files: map[Table]string{}}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		t, ok := byName[strings.ToUpper(e.Name())]
		if !ok {
			continue
		}
		if other, dup := r.files[t]; dup {
			return nil, fmt.Errorf("athena: both %s and %s found; keep one", other, e.Name())
		}
		r.files[t] = e.Name()
	}
	if _, ok := r.files[TableConcept]; !ok {
		return nil, ErrNoConceptFile
	}
	return r, nil
}

// File returns the name of t's file as found in the folder, and whether
// the release has one.
func (r *Release) File(t Table) (string, bool) {
	name, ok := r.files[t]
	return name, ok
}

// FileInfo describes one file of a release.
type FileInfo struct {
	Table Table
	Name  string // as found in the folder
	Size  int64
}

// Files lists the files present, in Tables order.
func (r *Release) Files() ([]FileInfo, error) {
	var out []FileInfo
	for _, t := range Tables() {
		name, ok := r.files[t]
		if !ok {
			continue
		}
		st, err := fs.Stat(r.fsys, name)
		if err != nil {
			return nil, fmt.Errorf("athena: %w", err)
		}
		out = append(out, FileInfo{Table: t, Name: name, Size: st.Size()})
	}
	return out, nil
}

// Fingerprint identifies the release by content: the hex SHA-256 over, for
// each file present in Tables order, its canonical name (so renaming
// concept.csv to CONCEPT.csv changes nothing), its size and its bytes. It
// reads every file once; on current hardware that costs well under a second
// per gigabyte. Caches of data derived from a release (search indexes) are
// keyed by it. The same content in the other flavour, or with CRLF line
// ends, has a different fingerprint.
func (r *Release) Fingerprint() (string, error) {
	h := sha256.New()
	buf := make([]byte, 256<<10)
	files, err := r.Files()
	if err != nil {
		return "", err
	}
	for _, fi := range files {
		f, err := r.fsys.Open(fi.Name)
		if err != nil {
			return "", fmt.Errorf("athena: %w", err)
		}
		io.WriteString(h, fi.Table.FileName())
		var hdr [8]byte
		binary.BigEndian.PutUint64(hdr[:], uint64(fi.Size))
		h.Write(hdr[:])
		n, err := io.CopyBuffer(h, f, buf)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("athena: read %s: %w", fi.Name, err)
		}
		if n != fi.Size {
			return "", fmt.Errorf("athena: %s changed while it was read (%d bytes, expected %d)", fi.Name, n, fi.Size)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
