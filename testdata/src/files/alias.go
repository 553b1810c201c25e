package files

import stdos "os"

// aliasedOpenLeak uses os imported under another name.
func aliasedOpenLeak(p string) (int64, error) {
	f, err := stdos.Open(p) // want "file-not-closed"
	if err != nil {
		return 0, err
	}
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// aliasedCreateTempLeak uses CreateTemp through the alias.
func aliasedCreateTempLeak() (string, error) {
	f, err := stdos.CreateTemp("", "alias-*") // want "file-not-closed"
	if err != nil {
		stdos.Exit(1)
	}
	return f.Name(), nil
}

// aliasedCreateClosed is fine.
func aliasedCreateClosed(p string) error {
	f, err := stdos.Create(p)
	if err != nil {
		return err
	}
	defer f.Close() // want "unchecked-error"
	_, err = f.WriteString("ok\n")
	return err
}
