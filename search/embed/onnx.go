package embed

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// Defaults of ONNXOptions.
const (
	// DefaultONNXMaxLength is SapBERT's training length: concept names are
	// short, and 25 tokens including [CLS] and [SEP] keep the batches small.
	DefaultONNXMaxLength = 25
	DefaultONNXBatchSize = 32
)

// Files of an ONNX model folder.
const (
	ONNXModelFile = "model.onnx"
	ONNXVocabFile = "vocab.txt"
	// ONNXPoolingFile is the sentence-transformers pooling configuration;
	// when present and it asks for the mean of the tokens, the embedder
	// pools that way.
	ONNXPoolingFile = "1_Pooling/config.json"
)

// Pooling turns a text's token states into one vector.
type Pooling string

// Poolings.
const (
	// PoolCLS takes the [CLS] token's state: SapBERT's training objective.
	PoolCLS Pooling = "cls"
	// PoolMean averages the states of the text's tokens (padding excluded):
	// how sentence-transformers models such as all-MiniLM-L6-v2 are trained.
	PoolMean Pooling = "mean"
)

// RuntimeLibraryEnv names the environment variable that points at the ONNX
// Runtime shared library.
const RuntimeLibraryEnv = "ONNXRUNTIME_LIB"

const runtimeLibraryName = "libonnxruntime.so.1"

// ErrNoRuntime is returned (wrapped) by NewONNX when the ONNX Runtime shared
// library cannot be found or loaded. scripts/bootstrap.sh installs it into
// ./lib.
var ErrNoRuntime = errors.New("embed: ONNX Runtime library not available")

// ortEnv guards the ONNX Runtime environment. onnxruntime_go keeps a single
// environment per process, so the guard that initialises it once has to be
// per process too; it is the package's only global.
var ortEnv sync.Mutex

// The model inputs the embedder knows how to fill.
const (
	inputIDs      = "input_ids"
	attentionMask = "attention_mask"
	tokenTypeIDs  = "token_type_ids"
	hiddenOutput  = "last_hidden_state"
)

// ONNXOptions configures an ONNX embedder. The zero value is the default.
type ONNXOptions struct {
	// LibraryPath is the ONNX Runtime shared library (ONNXRUNTIME_LIB,
	// read by package config). Empty means: ./lib/libonnxruntime.so.1,
	// else libonnxruntime.so.1 next to the executable, in lib/ beside it or
	// in ../lib from it. The first embedder of a process loads the library;
	// later ones share it, whatever their LibraryPath.
	LibraryPath string
	// MaxLength caps the tokens of a text, [CLS] and [SEP] included; 0 means
	// DefaultONNXMaxLength.
	MaxLength int
	// BatchSize is the number of texts per model run; 0 means
	// DefaultONNXBatchSize.
	BatchSize int
	// Threads is ONNX Runtime's intra-op thread count per run; 0 leaves its
	// default (one per physical core).
	Threads int
	// Pooling is PoolCLS or PoolMean; empty means what the model folder's
	// ONNXPoolingFile says, else PoolCLS.
	Pooling Pooling
}

// ONNX is an Embedder running a BERT-style encoder exported to ONNX, such as
// SapBERT or all-MiniLM-L6-v2: the vector of a text is the final hidden
// state of its [CLS] token, or the mean over its tokens (ONNXOptions.Pooling),
// L2-normalised.
//
// The model folder holds model.onnx and the tokenizer's vocab.txt. The model
// takes int64 [batch, sequence] inputs named input_ids and, if it declares
// them, attention_mask and token_type_ids, and returns last_hidden_state
// [batch, sequence, hidden]. Texts are tokenized by WordPiece (uncased),
// truncated to MaxLength tokens, sorted by length and run in batches padded
// to their longest text, which changes no vector.
//
// An ONNX is safe for concurrent use; Close releases the model.
type ONNX struct {
	mu      sync.RWMutex // Close takes it exclusively, runs share it
	session *ort.DynamicAdvancedSession
	wp      *WordPiece
	inputs  []string
	dim     int
	id      string
	maxLen  int
	batch   int
	pooling Pooling
}

// NewONNX loads the model in modelDir. The error wraps ErrNoRuntime when the
// ONNX Runtime library is missing; other errors name the file or the model
// input at fault.
func NewONNX(modelDir string, opts ONNXOptions) (*ONNX, error) {
	e := &ONNX{
		maxLen: cmp.Or(opts.MaxLength, DefaultONNXMaxLength),
		batch:  cmp.Or(opts.BatchSize, DefaultONNXBatchSize),
	}
	if e.maxLen < 2 || e.batch < 1 {
		return nil, fmt.Errorf("embed: MaxLength %d and BatchSize %d must be at least 2 and 1", e.maxLen, e.batch)
	}
	modelPath := filepath.Join(modelDir, ONNXModelFile)
	if _, err := os.Stat(modelPath); err != nil {
		return nil, fmt.Errorf("embed: ONNX model folder %s: %w", modelDir, err)
	}
	var err error
	if e.pooling, err = poolingOf(modelDir, opts.Pooling); err != nil {
		return nil, err
	}
	if e.wp, err = LoadWordPiece(filepath.Join(modelDir, ONNXVocabFile)); err != nil {
		return nil, err
	}
	if err := initRuntime(opts.LibraryPath); err != nil {
		return nil, err
	}

	ins, outs, err := ort.GetInputOutputInfo(modelPath)
	if err != nil {
		return nil, fmt.Errorf("embed: reading %s: %w", modelPath, err)
	}
	for _, in := range ins {
		switch in.Name {
		case inputIDs, attentionMask, tokenTypeIDs:
		default:
			return nil, fmt.Errorf("embed: model input %q is not one of %s, %s, %s", in.Name, inputIDs, attentionMask, tokenTypeIDs)
		}
		if in.DataType != ort.TensorElementDataTypeInt64 {
			return nil, fmt.Errorf("embed: model input %q is %s, want int64", in.Name, in.DataType)
		}
		e.inputs = append(e.inputs, in.Name)
	}
	if !slices.Contains(e.inputs, inputIDs) {
		return nil, fmt.Errorf("embed: model has no %s input", inputIDs)
	}
	i := slices.IndexFunc(outs, func(o ort.InputOutputInfo) bool { return o.Name == hiddenOutput })
	if i < 0 {
		return nil, fmt.Errorf("embed: model has no %s output", hiddenOutput)
	}
	d := outs[i].Dimensions
	if len(d) != 3 {
		return nil, fmt.Errorf("embed: model output %s has shape %v, want [batch, sequence, hidden]", hiddenOutput, d)
	}
	e.dim = int(d[2]) // -1 when the export left it symbolic; probed below

	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	defer so.Destroy()
	if opts.Threads > 0 {
		if err := so.SetIntraOpNumThreads(opts.Threads); err != nil {
			return nil, fmt.Errorf("embed: %w", err)
		}
	}
	if e.session, err = ort.NewDynamicAdvancedSession(modelPath, e.inputs, []string{hiddenOutput}, so); err != nil {
		return nil, fmt.Errorf("embed: loading %s: %w", modelPath, err)
	}
	if e.dim <= 0 {
		if e.dim, err = e.probeDim(); err != nil {
			e.session.Destroy()
			return nil, err
		}
	}

	fp, err := fingerprint(modelPath, filepath.Join(modelDir, ONNXVocabFile), e.maxLen)
	if err != nil {
		e.session.Destroy()
		return nil, err
	}
	e.id = fmt.Sprintf("onnx-%s-%s-%d", modelName(modelDir), fp, e.dim)
	if e.pooling == PoolMean {
		e.id += "-mean" // other vectors than [CLS] pooling of the same model
	}
	return e, nil
}

// ID is "onnx-<folder name>-<digest>-<dim>", the digest covering the model,
// its vocabulary and MaxLength, which all change the vectors.
func (e *ONNX) ID() string { return e.id }

// Dim is the model's hidden size.
func (e *ONNX) Dim() int { return e.dim }

// Embed returns one unit vector per text; see Embedder. It fails with ctx's
// error, with an error from ONNX Runtime, or after Close.
func (e *ONNX) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.session == nil {
		return nil, errors.New("embed: ONNX embedder is closed")
	}
	enc := make([][]int64, len(texts))
	order := make([]int, len(texts))
	for i, t := range texts {
		enc[i] = e.wp.Encode(t, e.maxLen)
		order[i] = i
	}
	// Batching texts of similar length wastes less work on padding.
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(len(enc[a]), len(enc[b])) })
	out := make([][]float32, len(texts))
	flat := make([]float32, len(texts)*e.dim)
	for start := 0; start < len(order); start += e.batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		idx := order[start:min(start+e.batch, len(order))]
		cls, err := e.run(enc, idx)
		if err != nil {
			return nil, err
		}
		for k, i := range idx {
			v := flat[i*e.dim : (i+1)*e.dim : (i+1)*e.dim]
			copy(v, cls[k*e.dim:])
			normalise(v)
			out[i] = v
		}
	}
	return out, nil
}

// Close releases the model. Embed fails after it; Close is idempotent.
func (e *ONNX) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.session == nil {
		return nil
	}
	err := e.session.Destroy()
	e.session = nil
	if err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	return nil
}

// run runs the model on the texts enc[idx], padded to the longest, and
// returns the hidden state of their [CLS] tokens (position 0), one after the
// other.
func (e *ONNX) run(enc [][]int64, idx []int) ([]float32, error) {
	width := 0
	for _, i := range idx {
		width = max(width, len(enc[i]))
	}
	n := len(idx) * width
	ids, mask := make([]int64, n), make([]int64, n)
	for k, i := range idx {
		row := ids[k*width : (k+1)*width]
		copy(row, enc[i])
		for j := len(enc[i]); j < width; j++ {
			row[j] = e.wp.PadID()
		}
		for j := range enc[i] {
			mask[k*width+j] = 1
		}
	}
	shape := ort.NewShape(int64(len(idx)), int64(width))
	inputs := make([]ort.Value, len(e.inputs))
	for j, name := range e.inputs {
		data := ids
		switch name {
		case attentionMask:
			data = mask
		case tokenTypeIDs:
			data = make([]int64, n) // one segment
		}
		t, err := ort.NewTensor(shape, data)
		if err != nil {
			return nil, fmt.Errorf("embed: %w", err)
		}
		defer t.Destroy()
		inputs[j] = t
	}
	out, err := ort.NewEmptyTensor[float32](ort.NewShape(int64(len(idx)), int64(width), int64(e.dim)))
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	defer out.Destroy()
	if err := e.session.Run(inputs, []ort.Value{out}); err != nil {
		return nil, fmt.Errorf("embed: running the model: %w", err)
	}
	hidden := out.GetData()
	pooled := make([]float32, len(idx)*e.dim)
	for k, i := range idx {
		v := pooled[k*e.dim : (k+1)*e.dim]
		if e.pooling != PoolMean {
			copy(v, hidden[k*width*e.dim:])
			continue
		}
		for j := range enc[i] { // the text's tokens, [CLS] and [SEP] included, no padding
			row := hidden[(k*width+j)*e.dim : (k*width+j+1)*e.dim]
			for d, x := range row {
				v[d] += x
			}
		}
		inv := 1 / float32(len(enc[i]))
		for d := range v {
			v[d] *= inv
		}
	}
	return pooled, nil
}

// poolingOf returns the explicit pooling, else the one the model folder's
// sentence-transformers configuration asks for, else PoolCLS.
func poolingOf(modelDir string, explicit Pooling) (Pooling, error) {
	switch explicit {
	case PoolCLS, PoolMean:
		return explicit, nil
	case "":
	default:
		return "", fmt.Errorf("embed: pooling %q is neither %q nor %q", explicit, PoolCLS, PoolMean)
	}
	b, err := os.ReadFile(filepath.Join(modelDir, ONNXPoolingFile))
	if errors.Is(err, os.ErrNotExist) {
		return PoolCLS, nil
	}
	if err != nil {
		return "", fmt.Errorf("embed: %w", err)
	}
	var cfg struct {
		Mean bool `json:"pooling_mode_mean_tokens"`
		CLS  bool `json:"pooling_mode_cls_token"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return "", fmt.Errorf("embed: %s: %w", ONNXPoolingFile, err)
	}
	if cfg.Mean && !cfg.CLS {
		return PoolMean, nil
	}
	return PoolCLS, nil
}

// probeDim runs the model once to learn a hidden size the model file leaves
// symbolic.
func (e *ONNX) probeDim() (int, error) {
	ids := e.wp.Encode("", e.maxLen)
	shape := ort.NewShape(1, int64(len(ids)))
	inputs := make([]ort.Value, len(e.inputs))
	for j, name := range e.inputs {
		data := ids
		if name != inputIDs {
			data = make([]int64, len(ids))
			if name == attentionMask {
				for k := range data {
					data[k] = 1
				}
			}
		}
		t, err := ort.NewTensor(shape, data)
		if err != nil {
			return 0, fmt.Errorf("embed: %w", err)
		}
		defer t.Destroy()
		inputs[j] = t
	}
	outs := []ort.Value{nil}
	if err := e.session.Run(inputs, outs); err != nil {
		return 0, fmt.Errorf("embed: probing the model: %w", err)
	}
	defer outs[0].Destroy()
	d := outs[0].GetShape()
	if len(d) != 3 || d[2] <= 0 {
		return 0, fmt.Errorf("embed: model output %s has shape %v, want [batch, sequence, hidden]", hiddenOutput, d)
	}
	return int(d[2]), nil
}

func normalise(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return
	}
	inv := 1 / math.Sqrt(s)
	for i, x := range v {
		v[i] = float32(float64(x) * inv)
	}
}

// initRuntime loads the ONNX Runtime library and creates the process's
// environment, once.
func initRuntime(explicit string) error {
	ortEnv.Lock()
	defer ortEnv.Unlock()
	if ort.IsInitialized() {
		return nil
	}
	lib, err := FindRuntimeLibrary(explicit)
	if err != nil {
		return err
	}
	ort.SetSharedLibraryPath(lib)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrNoRuntime, lib, err)
	}
	return nil
}

// FindRuntimeLibrary returns the ONNX Runtime library NewONNX would load: the
// explicit path if not empty (ONNXRUNTIME_LIB, read by package config),
// else the first of ./lib/libonnxruntime.so.1 and libonnxruntime.so.1 next to the
// executable, in lib/ beside it or in ../lib from it. The error wraps
// ErrNoRuntime and lists where it looked.
func FindRuntimeLibrary(explicit string) (string, error) {
	if explicit != "" {
		if _, err := os.Stat(explicit); err != nil {
			return "", fmt.Errorf("%w: %v", ErrNoRuntime, err)
		}
		return explicit, nil
	}
	candidates := []string{filepath.Join("lib", runtimeLibraryName)}
	if exe, err := os.Executable(); err == nil {
		dir := filepath.Dir(exe)
		candidates = append(candidates,
			filepath.Join(dir, runtimeLibraryName),
			filepath.Join(dir, "lib", runtimeLibraryName),
			filepath.Join(dir, "..", "lib", runtimeLibraryName))
	}
	for _, p := range candidates {
		if _, err := os.Stat(p); err == nil {
			return filepath.Abs(p)
		}
	}
	return "", fmt.Errorf("%w: set %s or run scripts/bootstrap.sh (looked for %s)",
		ErrNoRuntime, RuntimeLibraryEnv, strings.Join(candidates, ", "))
}

// fingerprint is the first 12 hex digits of the SHA-256 of the model, the
// vocabulary and the maximum length.
func fingerprint(modelPath, vocabPath string, maxLen int) (string, error) {
	h := sha256.New()
	for _, p := range []string{modelPath, vocabPath} {
		f, err := os.Open(p)
		if err != nil {
			return "", fmt.Errorf("embed: %w", err)
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("embed: reading %s: %w", p, err)
		}
	}
	fmt.Fprintf(h, "maxlen=%d", maxLen)
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// modelName is the model folder's name reduced to [a-z0-9-], for IDs.
func modelName(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	name := strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9':
			return r
		case 'A' <= r && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, filepath.Base(abs))
	return cmp.Or(strings.Trim(name, "-"), "model")
}
