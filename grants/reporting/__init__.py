"""What the partnership board and the public read: the quarterly board report (its data, the workbook,
the HTML page and its charts) and the 360Giving open-data export."""
