package airgap

import (
	"encoding/binary"
	"github.com/kinko-project/kinko/internal/untrusted"
	"hash/crc32"
	"strings"
)

// bytewordsList holds the 256 four-letter bytewords of BCR-2020-012, in
// byte order.
const bytewordsList = "ableacidalsoapexaquaarchatomauntawayaxisbackbaldbarnbeltbetabiasbluebodybragbrewbulbbuzzcalmcashcatschefcityclawcodecolacookcostcruxcurlcuspcyandarkdatadaysdelidicedietdoordowndrawdropdrumdulldutyeacheasyechoedgeepicevenexamexiteyesfactfairfernfigsfilmfishfizzflapflewfluxfoxyfreefrogfuelfundgalagamegeargemsgiftgirlglowgoodgraygrimgurugushgyrohalfhanghardhawkheathelphighhillholyhopehornhutsicedideaidleinchinkyintoirisironitemjadejazzjoinjoltjowljudojugsjumpjunkjurykeepkenokeptkeyskickkilnkingkitekiwiknoblamblavalazyleaflegsliarlimplionlistlogoloudloveluaulucklungmainmanymathmazememomenumeowmildmintmissmonknailnavyneednewsnextnoonnotenumbobeyoboeomitonyxopenovalowlspaidpartpeckplaypluspoempoolposepuffpumapurrquadquizraceramprealredorichroadrockroofrubyruinrunsrustsafesagascarsetssilkskewslotsoapsolosongstubsurfswantacotasktaxitenttiedtimetinytoiltombtoystriptunatwinuglyundouniturgeuservastveryvetovialvibeviewvisavoidvowswallwandwarmwaspwavewaxywebswhatwhenwhizwolfworkyankyawnyellyogayurtzapszerozestzinczonezoom"

// bytewordsStyle selects one of the three BCR-2020-012 renderings.
type bytewordsStyle int

const (
	bytewordsStandard bytewordsStyle = iota // "able acid also"
	bytewordsURI                            // "able-acid-also"
	bytewordsMinimal                        // "aeadao" (first and last letters)
)

// bytewordsMinimalIndex maps a two-letter minimal byteword (first letter *
// 26 + last letter) to its byte value + 1 (0 means invalid).
var bytewordsMinimalIndex [26 * 26]uint16

func init() {
	for i := 0; i < 256; i++ {
		w := bytewordsList[4*i : 4*i+4]
		bytewordsMinimalIndex[int(w[0]-'a')*26+int(w[3]-'a')] = uint16(i + 1)
	}
}

// crc32Bytes returns the big-endian CRC-32 (IEEE) of b, as appended by
// bytewords and used to seed the fountain code.
func crc32Bytes(b []byte) [4]byte {
	var out [4]byte
	binary.BigEndian.PutUint32(out[:], crc32.ChecksumIEEE(b))
	return out
}

// encodeBytewords renders data followed by its CRC-32 in the given style.
func encodeBytewords(style bytewordsStyle, data []byte) string {
	crc := crc32Bytes(data)
	var sb strings.Builder
	n := len(data) + 4
	switch style {
	case bytewordsMinimal:
		sb.Grow(2 * n)
	default:
		sb.Grow(5 * n)
	}
	put := func(i int, b byte) {
		w := bytewordsList[4*int(b) : 4*int(b)+4]
		switch style {
		case bytewordsMinimal:
			sb.WriteByte(w[0])
			sb.WriteByte(w[3])
			return
		case bytewordsURI:
			if i > 0 {
				sb.WriteByte('-')
			}
		default:
			if i > 0 {
				sb.WriteByte(' ')
			}
		}
		sb.WriteString(w)
	}
	for i, b := range data {
		put(i, b)
	}
	for i, b := range crc {
		put(len(data)+i, b)
	}
	return sb.String()
}

// decodeBytewords parses s (case-insensitively), verifies and strips the
// trailing CRC-32. The output is never larger than len(s)/2.
func decodeBytewords(style bytewordsStyle, s string) ([]byte, error) {
	var out []byte
	switch style {
	case bytewordsMinimal:
		if len(s)%2 != 0 {
			return nil, formatErr("bytewords", "odd length")
		}
		out = make([]byte, 0, len(s)/2)
		for i := 0; i < len(s); i += 2 {
			v, ok := minimalByteword(s[i], s[i+1])
			if !ok {
				return nil, formatErr("bytewords", "unknown word "+quoteShort(s[i:i+2]))
			}
			out = append(out, v)
		}
	default:
		sep := " "
		if style == bytewordsURI {
			sep = "-"
		}
		if s == "" {
			return nil, formatErr("bytewords", "too short")
		}
		words := strings.Split(s, sep)
		out = make([]byte, 0, len(words))
		for _, w := range words {
			if len(w) != 4 {
				return nil, formatErr("bytewords", "unknown word "+quoteShort(w))
			}
			v, ok := minimalByteword(w[0], w[3])
			full := bytewordsList[4*int(v) : 4*int(v)+4]
			if !ok || lower(w[1]) != full[1] || lower(w[2]) != full[2] {
				return nil, formatErr("bytewords", "unknown word "+quoteShort(w))
			}
			out = append(out, v)
		}
	}
	if len(out) < 5 {
		return nil, formatErr("bytewords", "too short")
	}
	body, sum := out[:len(out)-4], out[len(out)-4:]
	if want := crc32Bytes(body); string(want[:]) != string(sum) {
		return nil, ErrChecksum
	}
	return body, nil
}

func minimalByteword(a, b byte) (byte, bool) {
	a, b = lower(a), lower(b)
	if a < 'a' || a > 'z' || b < 'a' || b > 'z' {
		return 0, false
	}
	v := bytewordsMinimalIndex[int(a-'a')*26+int(b-'a')]
	if v == 0 {
		return 0, false
	}
	return byte(v - 1), true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// quoteShort quotes at most 16 bytes of untrusted s for error messages,
// escaped by the project's one sanitizer.
func quoteShort(s string) string { return untrusted.Quote(s, 16) }
