"""The course: one folder per kata (kataNN_slug/), each holding everything the checker knows about
that kata, and the configuration shared by every kata's hidden tests. See README.md here."""
