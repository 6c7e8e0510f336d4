package suggest

import "testing"

func TestClosest(t *testing.T) {
	known := []string{"allow", "deny", "example.com/app/shop.Total", "example.com/app/shop.Price"}
	for _, tc := range []struct{ s, want string }{
		{"alow", "allow"},
		{"example.com/app/shop.Totl", "example.com/app/shop.Total"},
		{"nothing-like-it", ""},
		{"deny", "deny"},
	} {
		if got := Closest(tc.s, known, 3); got != tc.want {
			t.Errorf("Closest(%q) = %q, want %q", tc.s, got, tc.want)
		}
	}
}
