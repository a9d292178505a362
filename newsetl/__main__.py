from newsetl.cli import app

app(prog_name="newsetl")
