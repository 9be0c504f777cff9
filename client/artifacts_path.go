package client

import (
	"io/fs"
	"mime"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// cleanArtifactPath validates an artifact path relative to the run's artifact
// root and returns it without a trailing slash. "" is the root itself. It
// applies MLflow's rule (the path must equal its normalised form) plus: no
// "..", not absolute, no backslash, no NUL, no Windows drive. Errors are
// *ArtifactPathError.
func cleanArtifactPath(p string) (string, error) {
	orig := p
	p = strings.TrimSuffix(p, "/")
	fail := func(reason string) (string, error) {
		return "", &ArtifactPathError{Path: truncateForError(orig), Reason: reason}
	}
	switch {
	case p == "" && orig == "":
		return "", nil
	case p == "":
		return fail("absolute path")
	case strings.ContainsRune(p, 0):
		return fail("contains NUL")
	case strings.ContainsRune(p, '\\'):
		return fail("contains a backslash")
	case strings.HasPrefix(p, "/"):
		return fail("absolute path")
	case len(p) >= 2 && p[1] == ':':
		return fail("windows drive path")
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == ".." {
			return fail(`contains ".."`)
		}
	}
	if path.Clean(p) != p || p == "." {
		return fail("not in clean form")
	}
	return p, nil
}

// joinArtifactPath joins validated paths; either may be "".
func joinArtifactPath(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "/" + b
}

// localFile is one file found under a directory passed to LogArtifacts.
type localFile struct {
	abs  string // path to open
	rel  string // slash-separated path relative to the directory
	size int64
}

// collectFiles walks dir recursively and returns its regular files (and
// symlinks to regular files inside dir), sorted by rel. Symlinked
// directories are not followed (as os.walk in MLflow's Python client). It
// fails before anything is uploaded when dir is missing or not a directory
// (*fs.PathError, *ArtifactPathError), a symlink resolves outside dir or is
// broken, an entry is not a regular file, or a directory is unreadable.
func collectFiles(dir string) ([]localFile, error) {
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, err
	}
	root, err = filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, &ArtifactPathError{Path: truncateForError(dir), Reason: "not a directory"}
	}
	var files []localFile
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		typ := d.Type()
		switch {
		case typ.IsDir():
			return nil
		case typ.IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			files = append(files, localFile{abs: p, rel: rel, size: info.Size()})
			return nil
		case typ&fs.ModeSymlink != 0:
			target, err := filepath.EvalSymlinks(p)
			if err != nil {
				return &ArtifactPathError{Path: truncateForError(rel), Reason: "broken symlink"}
			}
			if !within(root, target) {
				return &ArtifactPathError{Path: truncateForError(rel), Reason: "symlink points outside the directory"}
			}
			info, err := os.Stat(target)
			if err != nil {
				return err
			}
			if info.IsDir() {
				return nil // not followed, as os.walk(followlinks=False)
			}
			if !info.Mode().IsRegular() {
				return &ArtifactPathError{Path: truncateForError(rel), Reason: "not a regular file"}
			}
			files = append(files, localFile{abs: p, rel: rel, size: info.Size()})
			return nil
		default:
			return &ArtifactPathError{Path: truncateForError(rel), Reason: "not a regular file"}
		}
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(files, func(a, b localFile) int { return strings.Compare(a.rel, b.rel) })
	return files, nil
}

// within reports whether p is root or below it (both absolute, cleaned).
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return false
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel))
}

// textExtensions are the extensions MLflow's _guess_mime_type serves as
// text/plain (utils/mime_type_utils.py); extension-less names such as
// MLmodel are matched by their full name.
var textExtensions = []string{
	"txt", "log", "err", "cfg", "conf", "cnf", "cf", "ini", "properties", "prop", "hocon",
	"toml", "yaml", "yml", "xml", "json", "js", "py", "py3", "csv", "tsv", "md", "rst",
	"MLmodel", "mlproject",
}

// proxyContentType is the Content-Type MLflow's HTTP artifact repository
// sends for a file name: text/plain for known text files, else the system
// MIME type, else application/octet-stream.
func proxyContentType(name string) string {
	base := path.Base(name)
	ext := strings.TrimPrefix(path.Ext(base), ".")
	if ext == "" {
		ext = base
	}
	if slices.Contains(textExtensions, ext) {
		return "text/plain"
	}
	if t := systemMIMEType(path.Ext(base)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// s3ContentType mirrors mimetypes.guess_type as used by MLflow's S3
// repository: a content type (empty: leave S3's default) and a content
// encoding for compressed suffixes (x.tar.gz → application/x-tar, gzip).
func s3ContentType(name string) (contentType, encoding string) {
	base := path.Base(name)
	ext := path.Ext(base)
	encodings := map[string]string{".gz": "gzip", ".bz2": "bzip2", ".xz": "xz", ".br": "br", ".Z": "compress"}
	if enc, ok := encodings[ext]; ok {
		encoding = enc
		base = strings.TrimSuffix(base, ext)
		ext = path.Ext(base)
	}
	return systemMIMEType(ext), encoding
}

// systemMIMEType returns the media type for ext without parameters.
func systemMIMEType(ext string) string {
	if ext == "" {
		return ""
	}
	t := mime.TypeByExtension(ext)
	if t == "" {
		t = mime.TypeByExtension(strings.ToLower(ext))
	}
	if t == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(t)
	if err != nil {
		return ""
	}
	return mt
}
