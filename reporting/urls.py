urlpatterns: list = []
app_name = "reporting"
