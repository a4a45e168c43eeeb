# Shorthands for ./run.sh, which does the work (and also runs where make is not installed).
.PHONY: setup demo test ui bench
setup: ; ./run.sh setup
demo:  ; ./run.sh demo
test:  ; ./run.sh test
ui:    ; ./run.sh ui
bench: ; ./run.sh cli bench
