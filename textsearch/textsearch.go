// Package textsearch turns Chinese and English text into the terms that the catalog's
// full-text index stores and queries, so that both storage backends match and rank the
// same way without a Chinese word segmenter.
//
// Latin letters and digits form words, folded to lower case. Each run of CJK characters
// gives every single character and every pair of neighbouring characters (bigrams): a
// two-character query such as 医疗 is one term, found wherever the text contains it; a
// longer query becomes its bigrams, all of which must match. The terms are plain
// space-separated words, which SQLite's unicode61 tokenizer and PostgreSQL's 'simple'
// text-search configuration both take as they are.
package textsearch

import (
	"strings"
	"unicode"
)

// isCJK reports whether r is written without spaces between words (Han, kana, Hangul).
func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) ||
		unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r)
}

// isWord reports whether r belongs to a latin-script word.
func isWord(r rune) bool {
	return (unicode.IsLetter(r) || unicode.IsDigit(r)) && !isCJK(r)
}

// maxWord bounds one term's length, so pathological input cannot make huge index terms.
const maxWord = 40

// fold maps full-width ASCII (ＡＢＣ１２３) to ASCII and lower-cases.
func fold(r rune) rune {
	if r >= 0xFF01 && r <= 0xFF5E {
		r -= 0xFEE0
	}
	return unicode.ToLower(r)
}

// scan calls emit for every term of text; in query mode a CJK run gives its bigrams only
// (or its single character), in document mode its characters and its bigrams.
func scan(text string, query bool, emit func(string)) {
	var word []rune
	var run []rune
	flushWord := func() {
		if len(word) > 0 {
			if len(word) > maxWord {
				word = word[:maxWord]
			}
			emit(string(word))
			word = word[:0]
		}
	}
	flushRun := func() {
		switch {
		case len(run) == 0:
		case len(run) == 1:
			emit(string(run))
		default:
			if !query {
				for _, r := range run {
					emit(string(r))
				}
			}
			for i := 0; i+1 < len(run); i++ {
				emit(string(run[i : i+2]))
			}
		}
		run = run[:0]
	}
	for _, r := range text {
		r = fold(r)
		switch {
		case isCJK(r):
			flushWord()
			run = append(run, r)
		case isWord(r):
			flushRun()
			word = append(word, r)
		default:
			flushWord()
			flushRun()
		}
	}
	flushWord()
	flushRun()
}

// Document returns the index terms of the given texts, space-separated.
func Document(texts ...string) string {
	var b strings.Builder
	for _, t := range texts {
		scan(t, false, func(term string) {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(term)
		})
	}
	return b.String()
}

// Query returns the distinct terms a query must all match, in order of appearance.
// An empty result means the query has nothing to search for.
func Query(q string) []string {
	seen := map[string]bool{}
	var terms []string
	scan(q, true, func(term string) {
		if !seen[term] && len(terms) < 32 {
			seen[term] = true
			terms = append(terms, term)
		}
	})
	return terms
}
