// Package postmantest holds local stand-ins of the public APIs whose
// Postman collections surge's tests run (kept in
// internal/load/postman/testdata with their licences): RealWorld's
// Conduit and Postman Echo. Each answers as the real service does for the
// requests of its collection, in memory, over loopback.
package postmantest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Conduit is a stand-in for the RealWorld "Conduit" API
// (https://github.com/gothinkster/realworld), the part its Postman
// collection exercises: users and tokens, articles with tags and
// favorites, comments, profiles and follows, tags. It keeps everything in
// memory.
type Conduit struct {
	mu       sync.Mutex
	users    map[string]*cUser // by email
	tokens   map[string]string // token -> email
	articles []*cArticle
	follows  map[[2]string]bool // follower, followed
	nextID   int
	now      func() time.Time
	// Lying makes favorites never stick, a bug the collection's checks
	// must catch. Set it before serving.
	Lying bool
}

type cUser struct {
	Email, Username, Password, Bio string
	Image                          *string
}

type cArticle struct {
	Slug, Title, Description, Body string
	TagList                        []string
	Created, Updated               time.Time
	Author                         string
	FavoritedBy                    []string
	Comments                       []cComment
}

type cComment struct {
	ID               int
	Body, Author     string
	Created, Updated time.Time
}

// NewConduit returns an empty Conduit, whose clock stands still.
func NewConduit() *Conduit {
	return &Conduit{users: map[string]*cUser{}, tokens: map[string]string{}, follows: map[[2]string]bool{},
		now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 678e6, time.UTC) }}
}

// ServeHTTP serves the API under /api/.
func (c *Conduit) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	path, ok := strings.CutPrefix(r.URL.Path, "/api/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	var me *cUser
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Token "); ok {
		me = c.users[c.tokens[tok]]
	}
	var in struct {
		User    map[string]string `json:"user"`
		Article struct {
			Title, Description, Body string
			TagList                  []string `json:"tagList"`
		} `json:"article"`
		Comment struct{ Body string } `json:"comment"`
	}
	if r.Body != nil && r.ContentLength != 0 {
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			c.reply(w, http.StatusUnprocessableEntity, map[string]any{"errors": map[string]any{"body": []string{err.Error()}}})
			return
		}
	}
	seg := strings.Split(path, "/")
	unauthorized := func() {
		c.reply(w, http.StatusUnauthorized, map[string]any{"errors": map[string]any{"token": []string{"missing"}}})
	}
	switch {
	case r.Method == "POST" && path == "users":
		u := &cUser{Email: in.User["email"], Username: in.User["username"], Password: in.User["password"]}
		if u.Email == "" || u.Username == "" || c.users[u.Email] != nil {
			c.reply(w, http.StatusUnprocessableEntity, map[string]any{"errors": map[string]any{"email": []string{"is taken or empty"}}})
			return
		}
		c.users[u.Email] = u
		c.reply(w, http.StatusCreated, map[string]any{"user": c.userJSON(u)})
	case r.Method == "POST" && path == "users/login":
		u := c.users[in.User["email"]]
		if u == nil || u.Password != in.User["password"] {
			c.reply(w, http.StatusUnauthorized, map[string]any{"errors": map[string]any{"credentials": []string{"invalid"}}})
			return
		}
		c.reply(w, http.StatusOK, map[string]any{"user": c.userJSON(u)})
	case path == "user":
		if me == nil {
			unauthorized()
			return
		}
		if r.Method == "PUT" && in.User["email"] != "" && in.User["email"] != me.Email {
			delete(c.users, me.Email)
			me.Email = in.User["email"]
			c.users[me.Email] = me
		}
		c.reply(w, http.StatusOK, map[string]any{"user": c.userJSON(me)})
	case r.Method == "GET" && (path == "articles" || path == "articles/feed"):
		q := r.URL.Query()
		var list []any
		for i := len(c.articles) - 1; i >= 0; i-- {
			a := c.articles[i]
			switch {
			case q.Get("author") != "" && a.Author != q.Get("author"),
				q.Get("tag") != "" && !slices.Contains(a.TagList, q.Get("tag")),
				q.Get("favorited") != "" && !slices.Contains(a.FavoritedBy, q.Get("favorited")),
				path == "articles/feed" && (me == nil || !c.follows[[2]string{me.Username, a.Author}]):
				continue
			}
			list = append(list, c.articleJSON(a, me))
		}
		if path == "articles/feed" && me == nil {
			unauthorized()
			return
		}
		c.reply(w, http.StatusOK, map[string]any{"articles": append([]any{}, list...), "articlesCount": len(list)})
	case r.Method == "POST" && path == "articles":
		if me == nil {
			unauthorized()
			return
		}
		c.nextID++
		a := &cArticle{Slug: slugOf(in.Article.Title) + "-" + strconv.Itoa(c.nextID), Title: in.Article.Title,
			Description: in.Article.Description, Body: in.Article.Body, TagList: slices.Sorted(slices.Values(in.Article.TagList)),
			Created: c.now(), Updated: c.now(), Author: me.Username}
		c.articles = append(c.articles, a)
		c.reply(w, http.StatusCreated, map[string]any{"article": c.articleJSON(a, me)})
	case seg[0] == "articles" && len(seg) >= 2:
		i := slices.IndexFunc(c.articles, func(a *cArticle) bool { return a.Slug == seg[1] })
		if i < 0 {
			c.reply(w, http.StatusNotFound, map[string]any{"errors": map[string]any{"article": []string{"not found"}}})
			return
		}
		a := c.articles[i]
		switch {
		case len(seg) == 2 && r.Method == "GET":
		case len(seg) == 3 && seg[2] == "comments" && r.Method == "GET":
		case me == nil:
			unauthorized()
			return
		case len(seg) == 2 && r.Method == "PUT":
			if in.Article.Body != "" {
				a.Body = in.Article.Body
			}
			a.Updated = c.now()
		case len(seg) == 2 && r.Method == "DELETE":
			c.articles = slices.Delete(c.articles, i, i+1)
			w.WriteHeader(http.StatusNoContent)
			return
		case len(seg) == 3 && seg[2] == "favorite" && r.Method == "POST":
			if !c.Lying && !slices.Contains(a.FavoritedBy, me.Username) {
				a.FavoritedBy = append(a.FavoritedBy, me.Username)
			}
		case len(seg) == 3 && seg[2] == "favorite" && r.Method == "DELETE":
			a.FavoritedBy = slices.DeleteFunc(a.FavoritedBy, func(u string) bool { return u == me.Username })
		case len(seg) == 3 && seg[2] == "comments" && r.Method == "POST":
			c.nextID++
			cm := cComment{ID: c.nextID, Body: in.Comment.Body, Author: me.Username, Created: c.now(), Updated: c.now()}
			a.Comments = append(a.Comments, cm)
			c.reply(w, http.StatusCreated, map[string]any{"comment": c.commentJSON(cm, me)})
			return
		case len(seg) == 4 && seg[2] == "comments" && r.Method == "DELETE":
			a.Comments = slices.DeleteFunc(a.Comments, func(cm cComment) bool { return strconv.Itoa(cm.ID) == seg[3] })
			w.WriteHeader(http.StatusNoContent)
			return
		default:
			http.NotFound(w, r)
			return
		}
		if len(seg) == 3 && seg[2] == "comments" {
			list := []any{}
			for _, cm := range a.Comments {
				list = append(list, c.commentJSON(cm, me))
			}
			c.reply(w, http.StatusOK, map[string]any{"comments": list})
			return
		}
		c.reply(w, http.StatusOK, map[string]any{"article": c.articleJSON(a, me)})
	case seg[0] == "profiles" && len(seg) >= 2:
		var u *cUser
		for _, x := range c.users {
			if x.Username == seg[1] {
				u = x
			}
		}
		if u == nil {
			http.NotFound(w, r)
			return
		}
		if len(seg) == 3 && seg[2] == "follow" {
			if me == nil {
				unauthorized()
				return
			}
			c.follows[[2]string{me.Username, u.Username}] = r.Method == "POST"
		}
		c.reply(w, http.StatusOK, map[string]any{"profile": c.profileJSON(u.Username, me)})
	case r.Method == "GET" && path == "tags":
		tags := []string{}
		for _, a := range c.articles {
			for _, t := range a.TagList {
				if !slices.Contains(tags, t) {
					tags = append(tags, t)
				}
			}
		}
		c.reply(w, http.StatusOK, map[string]any{"tags": tags})
	default:
		http.NotFound(w, r)
	}
}

func (c *Conduit) reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (c *Conduit) userJSON(u *cUser) map[string]any {
	tok := "tok-" + u.Username
	c.tokens[tok] = u.Email
	return map[string]any{"email": u.Email, "token": tok, "username": u.Username, "bio": u.Bio, "image": u.Image}
}

func (c *Conduit) profileJSON(username string, me *cUser) map[string]any {
	following := me != nil && c.follows[[2]string{me.Username, username}]
	return map[string]any{"username": username, "bio": nil, "image": nil, "following": following}
}

func (c *Conduit) articleJSON(a *cArticle, me *cUser) map[string]any {
	return map[string]any{
		"slug": a.Slug, "title": a.Title, "description": a.Description, "body": a.Body, "tagList": a.TagList,
		"createdAt": a.Created.Format("2006-01-02T15:04:05.000Z"), "updatedAt": a.Updated.Format("2006-01-02T15:04:05.000Z"),
		"favorited": me != nil && slices.Contains(a.FavoritedBy, me.Username), "favoritesCount": len(a.FavoritedBy),
		"author": c.profileJSON(a.Author, me),
	}
}

func (c *Conduit) commentJSON(cm cComment, me *cUser) map[string]any {
	return map[string]any{"id": cm.ID, "body": cm.Body, "author": c.profileJSON(cm.Author, me),
		"createdAt": cm.Created.Format("2006-01-02T15:04:05.000Z"), "updatedAt": cm.Updated.Format("2006-01-02T15:04:05.000Z")}
}

func slugOf(title string) string {
	return strings.ToLower(strings.Join(strings.Fields(title), "-"))
}
