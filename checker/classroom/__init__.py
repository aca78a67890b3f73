"""Class reports from many learners' progress: CSV and one HTML page."""
