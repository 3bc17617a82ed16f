"""Development server: ``python app.py`` (production: ``gunicorn -c gunicorn.conf.py wsgi:app``)."""
import os

from clipzy import create_app

app = create_app()

if __name__ == "__main__":
    app.run(host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "8000")), threaded=True)
