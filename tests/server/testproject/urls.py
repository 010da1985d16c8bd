from django.urls import path
from testproject import views

urlpatterns = [
    path("sleep/", views.sleep),
    path("boom/", views.boom),
    path("mark/", views.mark),
    path("stream/", views.stream),
    path("hello/", views.hello),
    path("stats/", views.stats),
]
