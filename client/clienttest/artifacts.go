package clienttest

import (
	"io"
	"mime"
	"net/http"
	"path"
	"slices"
	"strings"
)

const artifactsScheme = "mlflow-artifacts:"

// safeArtifactPath is validate_path_is_safe: a relative path with no ".."
// segments and no backslashes.
func safeArtifactPath(p string) bool {
	if p == "" {
		return true
	}
	if strings.HasPrefix(p, "/") || strings.Contains(p, "\\") || strings.Contains(p, "\x00") {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return false
		}
	}
	return true
}

// serveArtifact serves the proxied artifact API under
// /api/2.0/mlflow-artifacts/artifacts.
func (s *Server) serveArtifact(w http.ResponseWriter, r *http.Request) *apiErr {
	_, rest, _ := strings.Cut(r.URL.Path, "/"+EndpointArtifacts)
	rest = strings.TrimPrefix(rest, "/")
	if rest == "" {
		if r.Method != http.MethodGet {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return nil
		}
		return s.listProxied(w, r.URL.Query().Get("path"))
	}
	if !safeArtifactPath(rest) {
		return invalidf("Invalid path")
	}
	switch r.Method {
	case http.MethodPut:
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return errf(codeInternal, "clienttest: reading artifact body: %v", err)
		}
		s.lock()
		s.artifacts[rest] = body
		s.mu.Unlock()
		w.WriteHeader(http.StatusOK) // empty body, as the real server
	case http.MethodGet:
		s.lock()
		body, ok := s.artifacts[rest]
		s.mu.Unlock()
		if !ok {
			return notFoundf("No such artifact: '%s'", rest)
		}
		ct := mime.TypeByExtension(path.Ext(rest))
		if ct == "" {
			ct = "application/octet-stream"
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Content-Disposition", "attachment; filename="+path.Base(rest))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	case http.MethodDelete:
		s.lock()
		for k := range s.artifacts {
			if k == rest || strings.HasPrefix(k, rest+"/") {
				delete(s.artifacts, k)
			}
		}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, empty{})
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
	return nil
}

// children lists the direct children of dir in the artifact store, with
// paths relative to dir. Callers hold s.mu.
func (s *Server) children(dir string) []wFileInfo {
	dir = strings.Trim(dir, "/")
	prefix := ""
	if dir != "" {
		prefix = dir + "/"
	}
	dirs := map[string]bool{}
	var out []wFileInfo
	for k, v := range s.artifacts {
		rel, ok := strings.CutPrefix(k, prefix)
		if !ok || rel == "" {
			continue
		}
		if name, _, isDir := strings.Cut(rel, "/"); isDir {
			if !dirs[name] {
				dirs[name] = true
				out = append(out, wFileInfo{Path: name, IsDir: true})
			}
			continue
		}
		size := int64(len(v))
		out = append(out, wFileInfo{Path: rel, FileSize: &size})
	}
	slices.SortFunc(out, func(a, b wFileInfo) int { return strings.Compare(a.Path, b.Path) })
	return out
}

func (s *Server) listProxied(w http.ResponseWriter, dir string) *apiErr {
	if !safeArtifactPath(strings.Trim(dir, "/")) {
		return invalidf("Invalid path")
	}
	s.lock()
	files := s.children(dir)
	s.mu.Unlock()
	var resp struct {
		Files []wFileInfo `json:"files,omitempty"`
	}
	resp.Files = files
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// runArtifactRoot is the proxied-store path of a run's artifact root, or ""
// when the run's artifacts live elsewhere.
func runArtifactRoot(rn *run) string {
	p, ok := strings.CutPrefix(rn.artifactURI, artifactsScheme)
	if !ok {
		return ""
	}
	return strings.Trim(p, "/")
}

func (s *Server) listRunArtifacts(w http.ResponseWriter, r *http.Request) *apiErr {
	id, err := queryRunID(r)
	if err != nil {
		return err
	}
	sub := strings.Trim(r.URL.Query().Get("path"), "/")
	if !safeArtifactPath(sub) {
		return invalidf("Invalid path")
	}
	s.lock()
	defer s.mu.Unlock()
	rn, err := s.runByID(id)
	if err != nil {
		return err
	}
	var resp struct {
		RootURI string      `json:"root_uri"`
		Files   []wFileInfo `json:"files,omitempty"`
	}
	resp.RootURI = rn.artifactURI
	if root := runArtifactRoot(rn); root != "" {
		for _, f := range s.children(path.Join(root, sub)) {
			if sub != "" {
				f.Path = sub + "/" + f.Path
			}
			resp.Files = append(resp.Files, f)
		}
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}
