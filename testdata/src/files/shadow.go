package files

import "os"

// fakeFS and fakeFile stand in for unknown third-party types.
type fakeFS struct{}

type fakeFile struct {
	name string
}

func (fakeFS) Open(name string) (*fakeFile, error) { return &fakeFile{name: name}, nil }

func (fakeFS) Create(name string) (*fakeFile, error) { return &fakeFile{name: name}, nil }

func (*fakeFile) Close() error { return nil }

// shadowedOSLocal: the local named os hides the os package.
func shadowedOSLocal(name string) (string, error) {
	os := fakeFS{}
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	return f.name, nil
}

// shadowedOSParam: a parameter named os hides the os package.
func shadowedOSParam(os fakeFS, name string) (string, error) {
	f, err := os.Create(name)
	if err != nil {
		return "", err
	}
	return f.name, nil
}

// realOpenClosed keeps the os import in use.
func realOpenClosed(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	return f.Close()
}
