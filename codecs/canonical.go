package codecs

import (
	"encoding/hex"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
)

// The JSON messages on the logs are read by other Kafka clients, and old
// messages must still decode, so their bytes are a contract: exactly what
// json.Marshal writes for the wire structs. encoding/json's reflection
// cost about a tenth of the processing path's CPU, so the codecs of the
// logs write and read the usual messages by hand, in a canonical form.
//
// A form is a message's text with its values left out: the message is
// form[0], value 0, form[1], value 1, …, then `"}`. Each value is the text
// of a JSON string, without its quotes. That is json.Marshal's output
// whenever no value needs an escape and no omitempty field is empty,
// which holds for every message the processors write. The encoders leave
// any other message to json.Marshal; the decoders accept only a form with
// values that need no unescaping, and hand any other input to
// encoding/json, so that both return what encoding/json would for every
// value and every input (FuzzEncode, FuzzTransferLogDecode and
// FuzzInstructionDecode hold them to it).
type form []string

var (
	transferForm = form{`{"request_id":"`, `","from":"`, `","amount":"`, `","to":"`}
	debitForm    = form{`{"request_id":"`, `","kind":"`, `","account":"`, `","from":"`, `","to":"`, `","amount":"`}
	openForm     = form{`{"request_id":"`, `","kind":"`, `","account":"`, `","username":"`, `","overdraft_limit":"`}
	// The outcome's kind is a constant, so it is part of the form.
	outcomeForm  = form{`{"request_id":"`, `","kind":"` + outcomeKind + `","status":"`}
	rejectedForm = form{`{"request_id":"`, `","kind":"` + outcomeKind + `","status":"`, `","reason":"`}
)

// parse splits s into the values of the form f, into values (as many as
// f has parts), and reports whether s is exactly of the form. A value
// ends at the first quote; it must be one that encoding/json would
// unquote to itself, so that the values are what it would decode.
func (f form) parse(s string, values []string) bool {
	for i, part := range f {
		if !strings.HasPrefix(s, part) {
			return false
		}
		s = s[len(part):]
		end := strings.IndexByte(s, '"')
		if end < 0 || !unquoted(s[:end]) {
			return false
		}
		values[i], s = s[:end], s[end:]
	}
	return s == `"}`
}

// unquoted reports whether encoding/json reads the JSON string "s" as s:
// s has no escape, no control character (which JSON forbids in a string)
// and no invalid UTF-8 (which encoding/json replaces with U+FFFD).
func unquoted(s string) bool {
	ascii := true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < ' ' || c == '\\':
			return false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return ascii || utf8.ValidString(s)
}

// verbatim reports whether json.Marshal writes each of ss unchanged
// between its quotes: valid UTF-8 with no character that it escapes (",
// \, control characters, <, > and & as \u003c…, U+2028 and U+2029).
// Names nearly always are; a message with any other value is left to
// json.Marshal, whose escapes are its own to decide.
func verbatim(ss ...string) bool {
	for _, s := range ss {
		for i := 0; i < len(s); {
			c := s[i]
			if c < utf8.RuneSelf {
				if c < ' ' || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
					return false
				}
				i++
				continue
			}
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
				return false
			}
			i += size
		}
	}
	return true
}

// appendUUID appends id as uuid.UUID.MarshalText writes it, without its
// allocation.
func appendUUID(b []byte, id uuid.UUID) []byte {
	var text [36]byte
	hex.Encode(text[0:8], id[0:4])
	text[8] = '-'
	hex.Encode(text[9:13], id[4:6])
	text[13] = '-'
	hex.Encode(text[14:18], id[6:8])
	text[18] = '-'
	hex.Encode(text[19:23], id[8:10])
	text[23] = '-'
	hex.Encode(text[24:], id[10:])
	return append(b, text[:]...)
}
