"""One reader for the HTML the library shows in a notebook cell (the ``_repr_html_`` methods), for
the tests that parse it: every tag must close the tag it was opened after."""

from __future__ import annotations

from html.parser import HTMLParser

#: Tags with no end tag.
VOID = {"br", "hr", "img", "input", "meta", "wbr"}
#: The elements whose text the page collects, each into a list of its own.
COLLECTED = ("td", "th", "p", "b", "li")


class Page(HTMLParser):
    """The parts of an HTML fragment a test reads.

    ``tables`` (each a list of rows, a row a list of cell texts) and ``rows`` (every table's rows,
    in order); ``paragraphs``, ``bold`` and ``items`` (the texts of ``<p>``, ``<b>`` and ``<li>``);
    ``texts`` (every piece of text; ``text`` joined) and ``tags`` (every start tag). An element's
    text includes the text of the elements inside it. Unbalanced markup fails the test.
    """

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self.paragraphs: list[str] = []
        self.bold: list[str] = []
        self.items: list[str] = []
        self.texts: list[str] = []
        self.tags: list[str] = []
        self.open: list[str] = []
        self._buffers: list[list[str]] = []  # one per open collected element
        self.feed(markup)
        self.close()
        assert self.open == [], f"unclosed tags {self.open}"

    @property
    def rows(self) -> list[list[str]]:
        return [row for table in self.tables for row in table]

    @property
    def text(self) -> str:
        return "".join(self.texts)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag in VOID:
            return
        self.open.append(tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        if tag in COLLECTED:
            self._buffers.append([])

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open}"
        self.open.pop()
        if tag not in COLLECTED:
            return
        text = "".join(self._buffers.pop())
        if tag in ("td", "th"):
            self.tables[-1][-1].append(text)
        else:
            {"p": self.paragraphs, "b": self.bold, "li": self.items}[tag].append(text)

    def handle_data(self, data: str) -> None:
        self.texts.append(data)
        for buffer in self._buffers:
            buffer.append(data)
