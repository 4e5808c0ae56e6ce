package main

func Example() {
	if err := run(); err != nil {
		panic(err)
	}
	// Output:
	// without a token: unauthenticated (missing bearer token)
	// with the token: the secret, for ada
}
