package evaluate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mlwatch/mlwatch/client"
)

// TagWriter is the part of the MLflow client LogOutcome needs to tag a run;
// *client.Client satisfies it.
type TagWriter interface {
	LogBatch(ctx context.Context, runID string, b client.Batch) error
}

// ArtifactUploader is the part of the MLflow client LogOutcome uses to upload
// the JSON report; *client.Client satisfies it. When the TagWriter given to
// LogOutcome also implements it, the report is uploaded as ReportArtifactPath.
type ArtifactUploader interface {
	LogArtifactStream(ctx context.Context, runID, artifactPath string, r io.Reader, size int64, opts ...client.ArtifactOption) error
}

// The run tags and artifact LogOutcome writes.
const (
	// TagEvalPrefix starts every tag LogOutcome writes. Per subject it writes
	// mlwatch.eval.<metric>.status, or mlwatch.eval.drift.<feature>.status
	// (with ".<segment>" before ".status" for segmented drift checks), each
	// passed, warning or critical.
	TagEvalPrefix = "mlwatch.eval."
	// TagEvalCritical and TagEvalWarning hold the breach counts.
	TagEvalCritical = "mlwatch.eval.critical"
	TagEvalWarning  = "mlwatch.eval.warning"
	// TagEvalBenchmarkRun names the benchmark run (or, for a rolling median,
	// its runs joined with commas, truncated to fit); TagEvalBenchmarkKind its kind.
	TagEvalBenchmarkRun  = "mlwatch.eval.benchmark_run"
	TagEvalBenchmarkKind = "mlwatch.eval.benchmark_kind"
	// TagEvalReportPath records where the JSON report was written locally.
	TagEvalReportPath = "mlwatch.eval.report_path"
	// TagEvalReportArtifact records the report's artifact path after upload.
	TagEvalReportArtifact = "mlwatch.eval.report_artifact"
	// ReportArtifactPath is where the JSON report is uploaded in the run's artifacts.
	ReportArtifactPath = "mlwatch/evaluation.json"
)

// MLflow's limits (reference §2.1): tags per log-batch, key and value length.
const (
	maxTagsPerBatch = 100
	maxTagKeyLen    = 250
	maxTagValueLen  = 8000
)

// OutcomeOption configures LogOutcome. Options validate their arguments.
type OutcomeOption func(*outcomeSettings) error

type outcomeSettings struct {
	reportFile string
	upload     bool
}

// WithReportFile writes the JSON report (see Report.MarshalJSON) to path, which
// must not be empty. The file is written atomically (temporary file + rename).
func WithReportFile(path string) OutcomeOption {
	return func(s *outcomeSettings) error {
		if path == "" {
			return fmt.Errorf("evaluate: WithReportFile: empty path")
		}
		s.reportFile = path
		return nil
	}
}

// WithoutUpload keeps LogOutcome from uploading the report as an artifact even
// when the writer can; the local path is then recorded in TagEvalReportPath.
func WithoutUpload() OutcomeOption {
	return func(s *outcomeSettings) error { s.upload = false; return nil }
}

// Outcome says what LogOutcome wrote.
type Outcome struct {
	// Tags are the tags written, in the order written (the overall
	// TagEvalStatus is always last, so a reader that sees it sees the rest).
	Tags []client.Tag
	// ReportFile is the local report path, if one was written.
	ReportFile string
	// ReportArtifact is the artifact path of the uploaded report, if uploaded.
	ReportArtifact string
}

// LogOutcome records rep on the run runID: it writes the report file (with
// WithReportFile), uploads the JSON report as ReportArtifactPath when w also
// implements ArtifactUploader (unless WithoutUpload), and tags the run with the
// status of every subject, the breach counts, the benchmark, where the report
// is, and finally the overall status TagEvalStatus. Tags go in batches of at
// most 100, MLflow's limit. Subjects whose names hold characters MLflow does not
// allow in keys have them replaced by '_'; over-long keys are shortened with a
// hash suffix. rep is not modified. If the upload fails the tags are still
// written (with the local path, if any) and the upload error is returned. The
// returned Outcome describes what was written even on error.
func LogOutcome(ctx context.Context, w TagWriter, runID string, rep Report, opts ...OutcomeOption) (*Outcome, error) {
	st := outcomeSettings{upload: true}
	for _, o := range opts {
		if err := o(&st); err != nil {
			return nil, err
		}
	}
	out := &Outcome{}
	body, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return out, fmt.Errorf("evaluate: encode report: %w", err)
	}
	body = append(body, '\n')
	if st.reportFile != "" {
		if err := writeFileAtomic(st.reportFile, body); err != nil {
			return out, err
		}
		out.ReportFile = st.reportFile
	}
	var uploadErr error
	if up, ok := w.(ArtifactUploader); ok && st.upload {
		uploadErr = up.LogArtifactStream(ctx, runID, ReportArtifactPath, bytes.NewReader(body), int64(len(body)))
		if uploadErr == nil {
			out.ReportArtifact = ReportArtifactPath
		} else {
			uploadErr = fmt.Errorf("evaluate: upload report: %w", uploadErr)
		}
	}
	tags := OutcomeTags(rep)
	status := tags[len(tags)-1]
	tags = tags[:len(tags)-1]
	if out.ReportArtifact != "" {
		tags = append(tags, client.Tag{Key: TagEvalReportArtifact, Value: out.ReportArtifact})
	}
	if out.ReportFile != "" && out.ReportArtifact == "" {
		abs, err := filepath.Abs(out.ReportFile)
		if err != nil {
			abs = out.ReportFile
		}
		tags = append(tags, client.Tag{Key: TagEvalReportPath, Value: truncate(abs, maxTagValueLen)})
	}
	tags = append(tags, status)
	for start := 0; start < len(tags); start += maxTagsPerBatch {
		end := min(start+maxTagsPerBatch, len(tags))
		if err := w.LogBatch(ctx, runID, client.Batch{Tags: tags[start:end]}); err != nil {
			return out, fmt.Errorf("evaluate: tag run %s with the outcome: %w", runID, err)
		}
		out.Tags = append(out.Tags, tags[start:end]...)
	}
	return out, uploadErr
}

// OutcomeTags returns the tags LogOutcome writes for rep, without the report
// location tags: one status tag per subject in check order, the breach counts,
// the benchmark, and TagEvalStatus last. rep is not modified.
func OutcomeTags(rep Report) []client.Tag {
	worst := map[string]Severity{}
	var order []string
	for _, c := range rep.Checks {
		key := subjectKey(c)
		s, seen := worst[key]
		if !seen {
			order = append(order, key)
			s = SeverityNone
		}
		if !c.Passed && c.Severity.rank() > s.rank() {
			s = c.Severity
		}
		worst[key] = s
	}
	tags := make([]client.Tag, 0, len(order)+5)
	for _, k := range order {
		tags = append(tags, client.Tag{Key: k, Value: statusOf(worst[k])})
	}
	tags = append(tags,
		client.Tag{Key: TagEvalCritical, Value: strconv.Itoa(rep.Count(SeverityCritical))},
		client.Tag{Key: TagEvalWarning, Value: strconv.Itoa(rep.Count(SeverityWarning))})
	if b := rep.Benchmark; b != nil {
		tags = append(tags, client.Tag{Key: TagEvalBenchmarkKind, Value: string(b.Kind)})
		run := b.RunID
		if run == "" {
			run = strings.Join(b.RunIDs, ",")
		}
		if run != "" {
			tags = append(tags, client.Tag{Key: TagEvalBenchmarkRun, Value: truncate(run, maxTagValueLen)})
		}
	}
	return append(tags, client.Tag{Key: TagEvalStatus, Value: rep.Status()})
}

// subjectKey is the status tag key of a check's subject.
func subjectKey(c Check) string {
	var name string
	if c.Kind == KindDrift {
		name = "drift." + sanitizeKey(c.Feature)
		if c.Feature == "" {
			name = "drift"
		}
		if c.Segment != "" {
			name += "." + sanitizeKey(c.Segment)
		}
	} else {
		name = sanitizeKey(c.Metric)
	}
	key := TagEvalPrefix + name + ".status"
	if len(key) > maxTagKeyLen {
		sum := sha256.Sum256([]byte(key))
		keep := maxTagKeyLen - len(TagEvalPrefix) - len(".status") - 9
		key = TagEvalPrefix + name[:keep] + "-" + hex.EncodeToString(sum[:4]) + ".status"
	}
	return key
}

// sanitizeKey replaces characters MLflow rejects in keys (anything but
// ASCII letters, digits, '_', '-', '.', ' ', ':' and '/') with '_'; slashes
// become '_' too when they would form an empty, "." or ".." path segment,
// which MLflow's normpath rule rejects.
func sanitizeKey(s string) string {
	b := []rune(s)
	for i, r := range b {
		ok := r == '_' || r == '-' || r == '.' || r == ' ' || r == ':' || r == '/' ||
			(r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if !ok {
			b[i] = '_'
		}
	}
	out := string(b)
	for _, seg := range strings.Split(out, "/") {
		if seg == "" || seg == "." || seg == ".." {
			out = strings.ReplaceAll(out, "/", "_")
			break
		}
	}
	if out == "" {
		return "_"
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory and a rename, so a reader never sees a half-written report.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".evaluation-*.json")
	if err != nil {
		return fmt.Errorf("evaluate: write report: %w", err)
	}
	name := tmp.Name()
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(name, 0o644)
	}
	if werr == nil {
		werr = os.Rename(name, path)
	}
	if werr != nil {
		os.Remove(name)
		return fmt.Errorf("evaluate: write report: %w", werr)
	}
	return nil
}
