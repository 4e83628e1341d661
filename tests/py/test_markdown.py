"""The shared body renderer: markdown to HTML, and anything unsafe removed whatever the stored format."""

from rustok.markdown import render


def test_markdown_renders_commonmark_with_tables() -> None:
    html = render("# Title\n\n**bold** and `code`\n\n|a|b|\n|-|-|\n|1|2|")
    assert "<h1>Title</h1>" in html
    assert "<strong>bold</strong>" in html
    assert "<td>1</td>" in html


def test_scripts_handlers_and_javascript_links_are_removed() -> None:
    html = render('<script>alert(1)</script><img src="x.png" onerror="alert(2)">[x](javascript:alert(3))')
    assert "<script" not in html and "alert(1)" not in html
    assert "onerror" not in html
    assert 'href="javascript' not in html
    assert '<img src="x.png">' in html


def test_html_bodies_are_sanitised_too_and_links_get_rel() -> None:
    html = render('<p onclick="x()">hi</p><a href="https://shop.test/">l</a>', "html")
    assert html == '<p>hi</p><a href="https://shop.test/" rel="noopener noreferrer nofollow">l</a>'
