package client

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// spool manages a spool directory: the segment being written, the segments
// waiting for replay, and the reader's progress. Fsync policy: a segment is
// fsynced when it is rotated (full) and on Flush and Shutdown (sync); with
// WithSyncSpool every append is fsynced before the enqueue call returns. A
// segment is deleted only after every record in it was acknowledged by
// MLflow (or rejected permanently).
type spool struct {
	dir      string
	segBytes int64
	syncMode bool
	lockF    *os.File

	mu             sync.Mutex
	spooling       bool
	onCh           chan struct{} // closed while spooling
	segs           []*segment
	active         *segment
	nextID         uint64
	frame          []byte
	dirty          bool
	closed         bool
	dataCh         chan struct{}
	corruptHeaders int
}

type segment struct {
	id          uint64
	path        string
	w           *os.File // the active segment only
	size        int64    // committed bytes
	sealed      bool
	read        int64
	readDone    bool
	outstanding int
}

var errSpoolClosed = errors.New("client: spool: closed")

const spoolSuffix = ".spool"

// openSpool creates dir if needed, locks it and lists the segments left by
// earlier processes (replayed first). With segments present, or in sync
// mode, the spool starts in spooling state so that new entries queue behind
// the old ones.
func openSpool(dir string, segBytes int64, syncMode bool) (*spool, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("client: spool: %w", err)
	}
	lf, err := lockSpoolDir(dir)
	if err != nil {
		return nil, err
	}
	sp := &spool{dir: dir, segBytes: segBytes, syncMode: syncMode, lockF: lf, onCh: make(chan struct{}), dataCh: make(chan struct{}, 1)}
	ents, err := os.ReadDir(dir)
	if err != nil {
		lf.Close()
		return nil, fmt.Errorf("client: spool: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, spoolSuffix) {
			continue
		}
		id, err := strconv.ParseUint(strings.TrimSuffix(name, spoolSuffix), 10, 64)
		if err != nil {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		seg := &segment{id: id, path: filepath.Join(dir, name), size: info.Size(), sealed: true}
		sp.segs = append(sp.segs, seg)
		if id >= sp.nextID {
			sp.nextID = id + 1
		}
	}
	sort.Slice(sp.segs, func(i, j int) bool { return sp.segs[i].id < sp.segs[j].id })
	for _, seg := range sp.segs {
		sp.checkHeader(seg)
	}
	if len(sp.segs) > 0 || syncMode {
		sp.spooling = true
		close(sp.onCh)
	}
	return sp, nil
}

// checkHeader positions the reader after a valid header; a missing or bad
// header is counted and the segment is scanned from its start.
func (sp *spool) checkHeader(seg *segment) {
	f, err := os.Open(seg.path)
	if err != nil {
		return
	}
	defer f.Close()
	h := make([]byte, len(spoolHeader))
	if n, _ := f.ReadAt(h, 0); n == len(h) && string(h) == spoolHeader {
		seg.read = int64(len(h))
		return
	}
	if seg.size > 0 {
		sp.corruptHeaders++
	}
}

func (sp *spool) segmentCount() int {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	n := 0
	for _, s := range sp.segs {
		if s != sp.active || s.size > int64(len(spoolHeader)) {
			n++
		}
	}
	return n
}

func (sp *spool) spoolingNow() bool {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.spooling
}

// onChan returns a channel that is closed while the spool is on.
func (sp *spool) onChan() <-chan struct{} {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.onCh
}

// setSpooling turns spooling on and reports whether it was off.
func (sp *spool) setSpooling() bool {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.spooling {
		return false
	}
	sp.spooling = true
	close(sp.onCh)
	return true
}

// appendPayload appends one record. Without force it writes only while
// spooling and reports whether it wrote.
func (sp *spool) appendPayload(payload []byte, force bool) (bool, error) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if !sp.spooling && !force {
		return false, nil
	}
	if err := sp.writeLocked(payload); err != nil {
		return false, err
	}
	return true, nil
}

// appendSync appends sb and fsyncs before returning (WithSyncSpool).
func (sp *spool) appendSync(sb *spoolBatch) error {
	payload := appendSpoolPayload(nil, sb)
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if err := sp.writeLocked(payload); err != nil {
		return err
	}
	return sp.syncLocked()
}

func (sp *spool) writeLocked(payload []byte) error {
	if sp.closed {
		return errSpoolClosed
	}
	if len(payload) > spoolMaxRecord {
		return errors.New("client: spool: record too large")
	}
	if sp.active == nil {
		if err := sp.newSegmentLocked(); err != nil {
			return err
		}
	}
	sp.frame = appendSpoolRecord(sp.frame[:0], payload)
	a := sp.active
	if _, err := a.w.Write(sp.frame); err != nil {
		// The tail may be torn; the reader tolerates that. Start afresh.
		sp.sealLocked()
		return fmt.Errorf("client: spool: write: %w", err)
	}
	a.size += int64(len(sp.frame))
	sp.dirty = true
	if a.size >= sp.segBytes {
		if err := sp.sealLocked(); err != nil {
			return err
		}
	}
	select {
	case sp.dataCh <- struct{}{}:
	default:
	}
	return nil
}

func (sp *spool) newSegmentLocked() error {
	id := sp.nextID
	sp.nextID++
	path := filepath.Join(sp.dir, fmt.Sprintf("%020d%s", id, spoolSuffix))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("client: spool: %w", err)
	}
	if _, err := f.Write([]byte(spoolHeader)); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("client: spool: %w", err)
	}
	seg := &segment{id: id, path: path, w: f, size: int64(len(spoolHeader)), read: int64(len(spoolHeader))}
	sp.segs = append(sp.segs, seg)
	sp.active = seg
	// Make the new file's directory entry durable.
	if d, err := os.Open(sp.dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// sealLocked fsyncs and closes the active segment; it becomes final for the reader.
func (sp *spool) sealLocked() error {
	a := sp.active
	if a == nil {
		return nil
	}
	sp.active = nil
	err := a.w.Sync()
	if cerr := a.w.Close(); err == nil {
		err = cerr
	}
	a.w = nil
	a.sealed = true
	sp.dirty = false
	if err != nil {
		return fmt.Errorf("client: spool: sync: %w", err)
	}
	return nil
}

func (sp *spool) syncLocked() error {
	if sp.active == nil || !sp.dirty {
		return nil
	}
	sp.dirty = false
	if err := sp.active.w.Sync(); err != nil {
		return fmt.Errorf("client: spool: sync: %w", err)
	}
	return nil
}

// sync fsyncs the active segment if it has unsynced records.
func (sp *spool) sync() error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.syncLocked()
}

// mark seals the active segment if it holds records and returns the id of
// the newest segment (and false when the spool is empty): everything
// spooled so far is replayed once no segment <= id is left.
func (sp *spool) mark() (uint64, bool) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if a := sp.active; a != nil && a.size > int64(len(spoolHeader)) {
		_ = sp.sealLocked()
		select {
		case sp.dataCh <- struct{}{}:
		default:
		}
	}
	for i := len(sp.segs) - 1; i >= 0; i-- {
		s := sp.segs[i]
		if s != sp.active {
			return s.id, true
		}
	}
	return 0, false
}

// drainedThrough reports whether no segment with id <= id is left.
func (sp *spool) drainedThrough(id uint64) bool {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return len(sp.segs) == 0 || sp.segs[0].id > id || (sp.segs[0] == sp.active && sp.active.size <= int64(len(spoolHeader)))
}

// nextRange returns the first segment with unread bytes and the byte range
// to read, or nil.
func (sp *spool) nextRange() (*segment, int64, int64, bool) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	for _, s := range sp.segs {
		if s.readDone {
			continue
		}
		if s.read < s.size {
			return s, s.read, s.size, s.sealed
		}
		if s.sealed {
			s.readDone = true
			sp.maybeDeleteLocked(s)
			continue
		}
		return nil, 0, 0, false
	}
	return nil, 0, 0, false
}

// advance records that the reader consumed n bytes of seg holding records
// records (now outstanding until acknowledged).
func (sp *spool) advance(seg *segment, n int64, records int, final bool) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	seg.read += n
	seg.outstanding += records
	if seg.sealed && (final || seg.read >= seg.size) {
		seg.read = seg.size
		seg.readDone = true
	}
	sp.maybeDeleteLocked(seg)
}

// ack records that n records of seg were delivered (or rejected for good).
func (sp *spool) ack(seg *segment, n int) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	seg.outstanding -= n
	sp.maybeDeleteLocked(seg)
}

func (sp *spool) maybeDeleteLocked(seg *segment) {
	if !seg.readDone || seg.outstanding > 0 {
		return
	}
	for i, s := range sp.segs {
		if s == seg {
			sp.segs = append(sp.segs[:i], sp.segs[i+1:]...)
			break
		}
	}
	_ = os.Remove(seg.path)
}

// tryStopSpooling turns spooling off when everything spooled has been
// replayed (not in sync mode), removing the emptied active segment.
func (sp *spool) tryStopSpooling() bool {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if !sp.spooling || sp.syncMode || sp.closed {
		return false
	}
	switch {
	case len(sp.segs) == 0:
	case len(sp.segs) == 1 && sp.segs[0] == sp.active && sp.active.read == sp.active.size && sp.active.outstanding == 0:
		a := sp.active
		sp.active = nil
		a.w.Close()
		os.Remove(a.path)
		sp.segs = nil
	default:
		return false
	}
	sp.spooling = false
	sp.onCh = make(chan struct{})
	return true
}

// close fsyncs and closes the active segment (kept for the next process
// if not replayed) and unlocks the directory.
func (sp *spool) close() error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.closed {
		return nil
	}
	var err error
	if a := sp.active; a != nil {
		empty := a.size <= int64(len(spoolHeader)) && a.outstanding == 0
		err = sp.sealLocked()
		if empty {
			os.Remove(a.path)
		}
	}
	sp.closed = true
	unlockSpoolDir(sp.lockF)
	return err
}
