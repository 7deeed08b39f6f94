"""The rendering layer every table and figure is built on: :mod:`~consortia.render.table`
(the table model, number formatting), :mod:`~consortia.render.table_writers` (LaTeX,
HTML, Markdown, CSV) and :mod:`~consortia.render.figure` (the theme, captions, saving
and layout checks). The numbers come from the stages; these modules only show them."""
