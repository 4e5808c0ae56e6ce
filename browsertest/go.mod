module github.com/simplerpc/simplerpc/browsertest

go 1.26.0

require (
	github.com/chromedp/chromedp v0.23.0
	github.com/simplerpc/simplerpc v0.0.0
	go.uber.org/goleak v1.3.0
)

require (
	github.com/chromedp/cdproto v0.159.0 // indirect
	github.com/fxamacker/cbor/v2 v2.10.0 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/klauspost/compress v1.20.4 // indirect
	github.com/x448/float16 v0.8.4 // indirect
)

replace github.com/simplerpc/simplerpc => ../
