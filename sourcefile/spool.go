package sourcefile

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"sync"
	"unicode/utf8"
)

// Spool copies an upload into a file while a second goroutine hashes it (SHA-256) and
// checks that it is valid UTF-8, so that the one pass over the bytes that an upload
// needs anyway also yields its digest and its encoding verdict.
type Spool struct {
	w       io.Writer
	work    chan []byte
	free    chan []byte
	done    chan struct{}
	h       hash.Hash
	carry   []byte // an incomplete UTF-8 sequence at the end of the last chunk
	valid   bool
	utf8On  bool // whether to check UTF-8 at all
	n       int64
	closeMu sync.Once
}

const spoolChunk = 1 << 20

// NewSpool returns a Spool writing to w; with checkUTF8 false it only hashes (and
// Finish reports validUTF8 as false: unknown).
func NewSpool(w io.Writer, checkUTF8 bool) *Spool {
	s := &Spool{w: w, work: make(chan []byte, 4), free: make(chan []byte, 6), done: make(chan struct{}), h: sha256.New(), valid: checkUTF8, utf8On: checkUTF8}
	for range 6 {
		s.free <- make([]byte, 0, spoolChunk)
	}
	go s.check()
	return s
}

func (s *Spool) check() {
	for b := range s.work {
		s.h.Write(b)
		if s.valid {
			s.validate(b)
		}
		s.free <- b[:0]
	}
	if len(s.carry) > 0 || !s.utf8On {
		s.valid = false
	}
	close(s.done)
}

func (s *Spool) validate(b []byte) {
	if len(s.carry) > 0 {
		// complete the sequence split across chunks
		need := 0
		for need < len(b) && need < utf8.UTFMax && !utf8.FullRune(append(s.carry, b[:need]...)) {
			need++
		}
		joined := append(s.carry, b[:need]...)
		if !utf8.FullRune(joined) || !utf8.Valid(joined) {
			s.valid = false
			return
		}
		b = b[need:]
		s.carry = s.carry[:0]
	}
	end := len(b)
	for i := 1; i < utf8.UTFMax && i <= end; i++ {
		if utf8.RuneStart(b[end-i]) {
			if !utf8.FullRune(b[end-i:]) {
				end -= i
			}
			break
		}
	}
	if !utf8.Valid(b[:end]) {
		s.valid = false
		return
	}
	s.carry = append(s.carry, b[end:]...)
}

// ReadFrom copies r into the spool's writer until EOF.
func (s *Spool) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	for {
		buf := <-s.free
		n, err := io.ReadFull(r, buf[:spoolChunk])
		buf = buf[:n]
		if n > 0 {
			if _, werr := s.w.Write(buf); werr != nil {
				s.free <- buf
				return total, werr
			}
			total += int64(n)
			s.n += int64(n)
			s.work <- buf
		} else {
			s.free <- buf
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// Finish waits for the checker and returns the size, the hex SHA-256 and whether all
// bytes were valid UTF-8.
func (s *Spool) Finish() (n int64, digest string, validUTF8 bool) {
	s.closeMu.Do(func() { close(s.work) })
	<-s.done
	return s.n, hex.EncodeToString(s.h.Sum(nil)), s.valid
}
