package postman

import (
	"slices"
	"strconv"
	"time"
)

// dynFunc appends a fresh value of a dynamic variable ({{$guid}} and the
// like) to dst.
type dynFunc func(v *vars, dst []byte) []byte

// dynamics are the dynamic variables understood: Postman's most used ones,
// with values of the same shape as Postman's (which come from faker.js);
// the words differ. Any other {{$name}} is reported and left as it is.
var dynamics map[string]dynFunc

// DynamicVariables lists the dynamic variables understood, for help texts.
func DynamicVariables() []string {
	names := make([]string, 0, len(dynamics))
	for n := range dynamics {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

const (
	lowerHex = "0123456789abcdef"
	alnum    = "abcdefghijklmnopqrstuvwxyz0123456789"
	alnumMix = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
)

var (
	firstNames = []string{"Ada", "Alan", "Barbara", "Claude", "Dennis", "Edsger", "Frances", "Grace", "Hedy",
		"John", "Katherine", "Ken", "Linus", "Margaret", "Niklaus", "Radia", "Rob", "Shafi", "Tim", "Vint"}
	lastNames = []string{"Lovelace", "Turing", "Liskov", "Shannon", "Ritchie", "Dijkstra", "Allen", "Hopper",
		"Lamarr", "Backus", "Johnson", "Thompson", "Torvalds", "Hamilton", "Wirth", "Perlman", "Pike",
		"Goldwasser", "Berners-Lee", "Cerf"}
	prefixes  = []string{"Mr.", "Mrs.", "Ms.", "Miss", "Dr."}
	suffixes  = []string{"Jr.", "Sr.", "I", "II", "III", "IV", "V", "MD", "DDS", "PhD", "DVM"}
	cities    = []string{"Lisbon", "Oslo", "Nairobi", "Osaka", "Lima", "Quebec", "Dublin", "Perth", "Austin", "Turin"}
	streets   = []string{"Oak Street", "Maple Avenue", "Harbour Road", "Mill Lane", "Station Road", "Church Street"}
	countries = []string{"Portugal", "Norway", "Kenya", "Japan", "Peru", "Canada", "Ireland", "Australia",
		"United States of America", "Italy"}
	countryCodes = []string{"PT", "NO", "KE", "JP", "PE", "CA", "IE", "AU", "US", "IT"}
	colors       = []string{"red", "green", "blue", "orange", "purple", "teal", "gold", "silver", "black", "white"}
	words        = []string{"lamp", "table", "bucket", "token", "shard", "stream", "river", "cloud", "spike",
		"ramp", "harbor", "signal", "matrix", "circuit", "pixel", "vector", "lambda", "gateway", "surge", "cache"}
	loremWords = []string{"lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit",
		"sed", "do", "eiusmod", "tempor", "incididunt", "ut", "labore", "et", "dolore", "magna", "aliqua"}
	domains     = []string{"example.com", "example.org", "example.net"}
	tlds        = []string{"com", "org", "net", "io", "info", "biz"}
	currencies  = []string{"USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "NOK", "KES", "PEN"}
	companies   = []string{"Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Wonka"}
	companySuf  = []string{"Inc", "LLC", "Group", "and Sons"}
	products    = []string{"Chair", "Car", "Computer", "Keyboard", "Mouse", "Bike", "Ball", "Gloves", "Pants", "Shirt"}
	adjectives  = []string{"Small", "Ergonomic", "Rustic", "Intelligent", "Gorgeous", "Incredible", "Fantastic", "Practical"}
	materials   = []string{"Steel", "Wooden", "Concrete", "Plastic", "Cotton", "Granite", "Rubber", "Metal", "Soft", "Fresh"}
	departments = []string{"Books", "Movies", "Music", "Games", "Electronics", "Computers", "Home", "Garden", "Tools"}
	jobTitles   = []string{"Engineer", "Designer", "Manager", "Analyst", "Architect", "Consultant", "Developer"}
	months      = []string{"January", "February", "March", "April", "May", "June", "July", "August",
		"September", "October", "November", "December"}
	weekdays  = []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}
	locales   = []string{"en", "de", "fr", "es", "it", "ja", "pt", "nl", "sv", "nb"}
	protocols = []string{"http", "https"}
	fileExts  = []string{"txt", "json", "csv", "png", "jpg", "pdf", "xml", "html"}
	mimeTypes = []string{"application/json", "text/plain", "text/csv", "image/png", "image/jpeg", "application/pdf"}
)

func pick(v *vars, list []string) string { return list[v.rnd.IntN(len(list))] }

func appendPick(list []string) dynFunc {
	return func(v *vars, dst []byte) []byte { return append(dst, pick(v, list)...) }
}

func appendUUID(v *vars, dst []byte) []byte {
	var b [16]byte
	x, y := v.rnd.Uint64(), v.rnd.Uint64()
	for i := range 8 {
		b[i], b[8+i] = byte(x>>(8*i)), byte(y>>(8*i))
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, lowerHex[c>>4], lowerHex[c&0xf])
	}
	return dst
}

func appendChars(v *vars, dst []byte, set string, n int) []byte {
	for range n {
		dst = append(dst, set[v.rnd.IntN(len(set))])
	}
	return dst
}

// jsDate formats t as JavaScript's Date.prototype.toString does, which is
// what Postman's date variables give.
func jsDate(dst []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(dst, "Mon Jan 02 2006 15:04:05 GMT+0000 (Coordinated Universal Time)")
}

func init() {
	dynamics = map[string]dynFunc{
		"$guid":       appendUUID,
		"$randomUUID": appendUUID,
		"$timestamp": func(v *vars, dst []byte) []byte {
			return strconv.AppendInt(dst, v.now().Unix(), 10)
		},
		"$isoTimestamp": func(v *vars, dst []byte) []byte {
			return v.now().UTC().AppendFormat(dst, "2006-01-02T15:04:05.000Z")
		},
		"$randomInt": func(v *vars, dst []byte) []byte {
			return strconv.AppendInt(dst, int64(v.rnd.IntN(1001)), 10)
		},
		"$randomAlphaNumeric": func(v *vars, dst []byte) []byte { return appendChars(v, dst, alnum, 1) },
		"$randomBoolean": func(v *vars, dst []byte) []byte {
			return strconv.AppendBool(dst, v.rnd.IntN(2) == 1)
		},
		"$randomHexColor": func(v *vars, dst []byte) []byte {
			return appendChars(v, append(dst, '#'), lowerHex, 6)
		},
		"$randomColor": appendPick(colors),
		"$randomIP": func(v *vars, dst []byte) []byte {
			for i := range 4 {
				if i > 0 {
					dst = append(dst, '.')
				}
				dst = strconv.AppendInt(dst, int64(v.rnd.IntN(256)), 10)
			}
			return dst
		},
		"$randomIPV6": func(v *vars, dst []byte) []byte {
			for i := range 8 {
				if i > 0 {
					dst = append(dst, ':')
				}
				dst = appendChars(v, dst, lowerHex, 4)
			}
			return dst
		},
		"$randomMACAddress": func(v *vars, dst []byte) []byte {
			for i := range 6 {
				if i > 0 {
					dst = append(dst, ':')
				}
				dst = appendChars(v, dst, lowerHex, 2)
			}
			return dst
		},
		"$randomPassword": func(v *vars, dst []byte) []byte { return appendChars(v, dst, alnumMix, 15) },
		"$randomLocale":   appendPick(locales),
		"$randomProtocol": appendPick(protocols),
		"$randomSemver": func(v *vars, dst []byte) []byte {
			dst = strconv.AppendInt(dst, int64(v.rnd.IntN(10)), 10)
			dst = strconv.AppendInt(append(dst, '.'), int64(v.rnd.IntN(10)), 10)
			return strconv.AppendInt(append(dst, '.'), int64(v.rnd.IntN(10)), 10)
		},
		"$randomFirstName":  appendPick(firstNames),
		"$randomLastName":   appendPick(lastNames),
		"$randomNamePrefix": appendPick(prefixes),
		"$randomNameSuffix": appendPick(suffixes),
		"$randomFullName": func(v *vars, dst []byte) []byte {
			return append(append(append(dst, pick(v, firstNames)...), ' '), pick(v, lastNames)...)
		},
		"$randomJobTitle": appendPick(jobTitles),
		"$randomPhoneNumber": func(v *vars, dst []byte) []byte {
			dst = appendChars(v, dst, "0123456789", 3)
			dst = appendChars(v, append(dst, '-'), "0123456789", 3)
			return appendChars(v, append(dst, '-'), "0123456789", 4)
		},
		"$randomCity":       appendPick(cities),
		"$randomStreetName": appendPick(streets),
		"$randomStreetAddress": func(v *vars, dst []byte) []byte {
			dst = strconv.AppendInt(dst, int64(1+v.rnd.IntN(9999)), 10)
			return append(append(dst, ' '), pick(v, streets)...)
		},
		"$randomCountry":     appendPick(countries),
		"$randomCountryCode": appendPick(countryCodes),
		"$randomLatitude": func(v *vars, dst []byte) []byte {
			return strconv.AppendFloat(dst, float64(v.rnd.IntN(1800001)-900000)/10000, 'f', 4, 64)
		},
		"$randomLongitude": func(v *vars, dst []byte) []byte {
			return strconv.AppendFloat(dst, float64(v.rnd.IntN(3600001)-1800000)/10000, 'f', 4, 64)
		},
		"$randomEmail": func(v *vars, dst []byte) []byte {
			dst = append(dst, pick(v, firstNames)...)
			dst = append(append(dst, '.'), pick(v, lastNames)...)
			dst = strconv.AppendInt(dst, int64(v.rnd.IntN(100)), 10)
			return append(append(dst, '@'), pick(v, domains)...)
		},
		"$randomExampleEmail": func(v *vars, dst []byte) []byte {
			dst = append(dst, pick(v, firstNames)...)
			dst = strconv.AppendInt(dst, int64(v.rnd.IntN(100)), 10)
			return append(append(dst, '@'), pick(v, domains)...)
		},
		"$randomUserName": func(v *vars, dst []byte) []byte {
			dst = append(dst, pick(v, firstNames)...)
			dst = append(append(dst, '.'), pick(v, lastNames)...)
			return strconv.AppendInt(dst, int64(v.rnd.IntN(100)), 10)
		},
		"$randomDomainWord":   appendPick(words),
		"$randomDomainSuffix": appendPick(tlds),
		"$randomDomainName": func(v *vars, dst []byte) []byte {
			return append(append(append(dst, pick(v, words)...), '.'), pick(v, tlds)...)
		},
		"$randomUrl": func(v *vars, dst []byte) []byte {
			dst = append(dst, "https://"...)
			return append(append(append(dst, pick(v, words)...), '.'), pick(v, tlds)...)
		},
		"$randomWord":      appendPick(words),
		"$randomNoun":      appendPick(words),
		"$randomAdjective": appendPick(adjectives),
		"$randomWords": func(v *vars, dst []byte) []byte {
			for i := range 3 {
				if i > 0 {
					dst = append(dst, ' ')
				}
				dst = append(dst, pick(v, words)...)
			}
			return dst
		},
		"$randomLoremWord": appendPick(loremWords),
		"$randomLoremWords": func(v *vars, dst []byte) []byte {
			for i := range 3 {
				if i > 0 {
					dst = append(dst, ' ')
				}
				dst = append(dst, pick(v, loremWords)...)
			}
			return dst
		},
		"$randomLoremSentence": func(v *vars, dst []byte) []byte {
			n := 5 + v.rnd.IntN(6)
			for i := range n {
				w := pick(v, loremWords)
				if i == 0 {
					dst = append(dst, w[0]-'a'+'A')
					dst = append(dst, w[1:]...)
				} else {
					dst = append(append(dst, ' '), w...)
				}
			}
			return append(dst, '.')
		},
		"$randomLoremSlug": func(v *vars, dst []byte) []byte {
			for i := range 3 {
				if i > 0 {
					dst = append(dst, '-')
				}
				dst = append(dst, pick(v, loremWords)...)
			}
			return dst
		},
		"$randomPrice": func(v *vars, dst []byte) []byte {
			return strconv.AppendFloat(dst, float64(v.rnd.IntN(100000))/100, 'f', 2, 64)
		},
		"$randomCurrencyCode": appendPick(currencies),
		"$randomCompanyName": func(v *vars, dst []byte) []byte {
			return append(append(append(dst, pick(v, companies)...), ' '), pick(v, companySuf)...)
		},
		"$randomProduct":          appendPick(products),
		"$randomProductAdjective": appendPick(adjectives),
		"$randomProductMaterial":  appendPick(materials),
		"$randomProductName": func(v *vars, dst []byte) []byte {
			dst = append(append(dst, pick(v, adjectives)...), ' ')
			return append(append(append(dst, pick(v, materials)...), ' '), pick(v, products)...)
		},
		"$randomDepartment": appendPick(departments),
		"$randomMonth":      appendPick(months),
		"$randomWeekday":    appendPick(weekdays),
		"$randomDatePast": func(v *vars, dst []byte) []byte {
			return jsDate(dst, v.now().Add(-time.Duration(1+v.rnd.IntN(365*24))*time.Hour))
		},
		"$randomDateFuture": func(v *vars, dst []byte) []byte {
			return jsDate(dst, v.now().Add(time.Duration(1+v.rnd.IntN(365*24))*time.Hour))
		},
		"$randomDateRecent": func(v *vars, dst []byte) []byte {
			return jsDate(dst, v.now().Add(-time.Duration(1+v.rnd.IntN(24*60))*time.Minute))
		},
		"$randomFileExt":  appendPick(fileExts),
		"$randomMimeType": appendPick(mimeTypes),
		"$randomFileName": func(v *vars, dst []byte) []byte {
			return append(append(append(dst, pick(v, words)...), '.'), pick(v, fileExts)...)
		},
		"$randomBankAccount":  func(v *vars, dst []byte) []byte { return appendChars(v, dst, "0123456789", 8) },
		"$randomAbbreviation": appendPick([]string{"API", "HTTP", "JSON", "SQL", "TCP", "SMTP", "RAM", "SSL", "XML", "CSS"}),
	}
}
